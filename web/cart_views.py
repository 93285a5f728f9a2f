"""The cart page and its changes, and the cart's discount code (enter it, checked at once
with the reason when refused, or remove it; checkout checks it again when the order is
made). The cart is ``orders.cart``; the code lives in the session (``pricing``)."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from catalog.models import Product
from orders.cart import (
    CART_ID_SESSION_KEY,
    CartError,
    cart_add,
    cart_get,
    cart_remove,
    cart_update,
)
from pricing.forms import CouponForm
from pricing.services import COUPON_SESSION_KEY, CouponError, cart_quote

from .forms import CartAddForm, CartUpdateForm


def _session_cart_get(*, request: HttpRequest) -> dict[str, int]:
    cart = request.session.get("cart", {})
    return cart if isinstance(cart, dict) else {}


def _form_error_text(form) -> str:
    """The form's messages as a customer reads them: no field names, no list markers."""
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


@require_POST
def cart_add_view(request: HttpRequest, slug: str) -> HttpResponse:
    product = get_object_or_404(Product, slug=slug)
    form = CartAddForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_error_text(form))
        return redirect(product.get_absolute_url())
    try:
        request.session["cart"] = cart_add(
            session_cart=_session_cart_get(request=request),
            product=product,
            quantity=form.cleaned_data["quantity"],
        )
    except CartError as exc:
        messages.error(request, str(exc))
        return redirect(product.get_absolute_url())
    if not request.session.get(CART_ID_SESSION_KEY):  # one id for this cart until checkout
        request.session[CART_ID_SESSION_KEY] = secrets.token_hex(16)
    messages.success(request, _("%(product)s is in your cart.") % {"product": product.name})
    return redirect("catalog:cart")


def cart_view(request: HttpRequest) -> HttpResponse:
    cart = cart_get(session_cart=_session_cart_get(request=request))
    return render(request, "storefront/cart.html", {"cart": cart})


@require_POST
def cart_update_view(request: HttpRequest, product_id: int) -> HttpResponse:
    product = get_object_or_404(Product, pk=product_id)
    form = CartUpdateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_error_text(form))
        return redirect("catalog:cart")
    try:
        request.session["cart"] = cart_update(
            session_cart=_session_cart_get(request=request),
            product=product,
            quantity=form.cleaned_data["quantity"],
        )
    except CartError as exc:
        messages.error(request, str(exc))
    return redirect("catalog:cart")


@require_POST
def cart_remove_view(request: HttpRequest, product_id: int) -> HttpResponse:
    request.session["cart"] = cart_remove(
        session_cart=_session_cart_get(request=request), product_id=product_id
    )
    return redirect("catalog:cart")


@require_POST
def coupon_apply_view(request: HttpRequest) -> HttpResponse:
    form = CouponForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a discount code."))
        return redirect("catalog:cart")
    code = form.cleaned_data["code"].strip().upper()
    try:
        cart = cart_get(session_cart=_session_cart_get(request=request))
        cart_quote(cart=cart, coupon_code=code, coupon_required=True)
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
