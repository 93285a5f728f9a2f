"""The cart's discount code: enter it (checked at once, with the reason when refused) or
remove it. The code lives in the session; checkout checks it again when the order is made."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .forms import CouponForm
from .services import COUPON_SESSION_KEY, CouponError, cart_quote


def _cart(request: HttpRequest):
    from storefront.selectors import cart_get

    return cart_get(session_cart=request.session.get("cart", {}) or {})


@require_POST
def coupon_apply_view(request: HttpRequest) -> HttpResponse:
    form = CouponForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a discount code."))
        return redirect("catalog:cart")
    code = form.cleaned_data["code"].strip().upper()
    try:
        cart_quote(cart=_cart(request), coupon_code=code, coupon_required=True)
    except CouponError as exc:
        request.session.pop(COUPON_SESSION_KEY, None)
        request.session["coupon_typed"] = code
        messages.error(request, str(exc))
    else:
        request.session[COUPON_SESSION_KEY] = code
        request.session.pop("coupon_typed", None)
        messages.success(request, _("Code %(code)s applied.") % {"code": code})
    return redirect("catalog:cart")


@require_POST
def coupon_remove_view(request: HttpRequest) -> HttpResponse:
    request.session.pop(COUPON_SESSION_KEY, None)
    request.session.pop("coupon_typed", None)
    messages.info(request, _("Discount code removed."))
    return redirect("catalog:cart")
