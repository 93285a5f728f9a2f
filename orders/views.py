"""Checkout, payment pages, the order page, tracking, key reveal, resend, cancel, webhooks.

Views parse input and call one service or selector. Any page that can show a key code
answers with ``Cache-Control: no-store``.
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from core.http import client_ip_get, user_agent_get
from core.money import money_from_minor_units
from keys.crypto import KeyDecryptionError
from keys.services import key_reveal as key_code_reveal
from keys.services import key_unreadable_report
from policies.consents import POLICY_ACCEPTANCE
from pricing.countries import country_choices, country_from_accept_language
from pricing.services import COUPON_SESSION_KEY, cart_quote, shop_tax_settings_get
from pricing.vat_numbers import vat_number_check

from . import selectors, services
from .cart import CART_ID_SESSION_KEY, cart_get
from .forms import CheckoutForm, TestCardForm, TrackForm
from .gateways import GatewayError, gateway_line_items
from .models import Order, OrderStatus

logger = logging.getLogger(__name__)
SESSION_KEY = "orders_access"
REFUSAL_KEY = "orders_refusal"


def _access(request: HttpRequest) -> dict[str, str]:
    value = request.session.get(SESSION_KEY, {})
    return value if isinstance(value, dict) else {}


def _grant(request: HttpRequest, order: Order, channel: str) -> None:
    access = dict(_access(request))
    access[str(order.pk)] = channel
    request.session[SESSION_KEY] = dict(list(access.items())[-50:])


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def _viewer_order(request: HttpRequest, number: str) -> tuple[Order, str]:
    found = selectors.order_get_for_viewer(
        number=number, user=request.user, session_access=_access(request)
    )
    if found is None:
        raise Http404
    return found


# --- checkout -------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def checkout(request: HttpRequest) -> HttpResponse:
    cart = cart_get(
        session_cart=request.session.get("cart", {}) or {},
        # a cart from before cart ids existed is named by its session
        cart_id=request.session.get(CART_ID_SESSION_KEY) or request.session.session_key or "",
    )
    if cart.is_empty:
        messages.info(request, _("Your cart is empty."))
        return redirect("catalog:cart")
    if not selectors.checkout_open_get():
        services.checkout_closed_report()
        closed = {"message": services.CHECKOUT_CLOSED_MESSAGE}
        return render(request, "orders/checkout_closed.html", closed, status=503)
    language = translation.get_language() or "en"
    consents = selectors.checkout_consents_list(language=language)
    tax_settings = shop_tax_settings_get()
    initial = {"language": language[:2], "billing_country": _default_country(request)}
    if request.user.is_authenticated:
        initial["email"] = request.user.email
    form = CheckoutForm(
        request.POST or None,
        consents=consents,
        initial=initial,
        country_required=tax_settings.charges_vat,
    )
    coupon_code = request.session.get(COUPON_SESSION_KEY, "") or ""
    quote = _checkout_quote_for(form=form, cart=cart, coupon_code=coupon_code)
    quote_changed = (
        request.method == "POST"
        and "quoted_total" in request.POST
        and request.POST["quoted_total"] != str(quote.total)
    )
    if request.method == "POST" and "update_prices" in request.POST:
        # only the prices were asked for: show the form again as typed, without errors
        typed = {k: v for k, v in request.POST.items() if k != "csrfmiddlewaretoken"}
        form = CheckoutForm(
            initial={**initial, **typed},
            consents=consents,
            country_required=tax_settings.charges_vat,
        )
        quote_changed = True
    elif quote_changed and form.is_valid():
        messages.info(
            request,
            _("The price depends on your country and VAT number: check the total, then continue."),
        )
    if request.method == "POST" and not quote_changed and form.is_valid():
        data = form.cleaned_data
        given = [
            services.ConsentGiven(
                kind=c.kind,
                text=c.wording,
                wording_version=c.wording_version,
                clause=c.clause_id,
                legal_basis=c.legal_basis,
            )
            for c in consents
            if c.kind in form.given_kinds()
        ]
        try:
            order = services.order_create_from_cart(
                cart=cart,
                billing_name=data["billing_name"],
                email=data["email"],
                language=data["language"],
                user=request.user,
                ip=client_ip_get(request=request),
                user_agent=user_agent_get(request=request),
                consents=given,
                billing_country=data.get("billing_country") or "",
                billing_company=data.get("billing_company") or "",
                vat_number=data.get("vat_number") or "",
                coupon_code=coupon_code,
            )
        except services.CheckoutError as exc:
            form.add_error(None, str(exc))
        else:
            _grant(request, order, "screen")
            try:
                url = services.order_checkout_start(
                    order=order, site_url=request.build_absolute_uri("/")
                )
            except GatewayError:
                logger.exception("checkout session for %s failed", order.number)
                messages.error(
                    request, _("The payment service is not answering. Please try again.")
                )
                return redirect("orders:detail", number=order.number)
            request.session["cart"] = {}
            request.session.pop(CART_ID_SESSION_KEY, None)
            request.session.pop(COUPON_SESSION_KEY, None)
            return redirect(url)
    context = {
        "form": form,
        "cart": cart,
        "quote": quote,
        "quote_lines": list(zip(cart.lines, quote.tax.lines, strict=True)),
        "documents": selectors.checkout_documents_list(language=language),
    }
    return render(request, "orders/checkout.html", context, status=400 if form.errors else 200)


def _default_country(request: HttpRequest) -> str:
    """The region of the browser's language (``fr-FR`` -> FR), else the shop's country."""
    known = {code for code, _name in country_choices(language="en")}
    guess = country_from_accept_language(header=request.headers.get("Accept-Language", ""))
    return guess if guess in known else shop_tax_settings_get().country


def _checkout_quote_for(*, form: CheckoutForm, cart, coupon_code: str):
    """The prices for what the form says (the submitted country and VAT number when they
    are valid, the defaults otherwise); a coupon that no longer applies is left out and
    its reason shown."""
    country = form.initial.get("billing_country", "")
    vat_number = ""
    if form.is_bound:
        posted = (form.data.get("billing_country") or "").upper()
        if posted in form.billing_country_codes:
            country = posted
        typed = form.data.get("vat_number", "")
        if typed and vat_number_check(number=typed, country=country).valid:
            vat_number = typed
    return cart_quote(
        cart=cart, billing_country=country, vat_number=vat_number, coupon_code=coupon_code,
        email=(form.data.get("email", "") if form.is_bound else "") or "",
    )  # fmt: skip


@never_cache
def payment_return(request: HttpRequest, number: str) -> HttpResponse:
    """Where Stripe sends the customer back: ask Stripe, complete the order if paid."""
    order, _channel = _viewer_order(request, number)
    session_id = request.GET.get("session_id", "")
    if session_id and session_id == order.gateway_session_id:
        try:
            services.order_payment_sync(order=order)
        except (GatewayError, services.OrderError):
            logger.warning("success page could not confirm %s; the webhook will", order.number)
    return redirect("orders:detail", number=order.number)


@never_cache
@require_http_methods(["GET", "POST"])
def test_pay(request: HttpRequest, session_id: str) -> HttpResponse:
    """The local test gateway's hosted payment page."""
    order = selectors.order_for_test_session_get(session_id=session_id)
    if order is None:
        raise Http404
    form = TestCardForm(request.POST or None)
    if order.status not in (OrderStatus.PENDING, OrderStatus.FAILED):
        return redirect("orders:detail", number=order.number)
    if request.method == "POST" and form.is_valid():
        result = services.payment_test_card_submit(
            session_id=session_id, card_number=form.cleaned_data["card_number"]
        )
        if result.outcome == "paid":
            _grant(request, order, _access(request).get(str(order.pk), "screen"))
            return redirect("orders:detail", number=order.number)
        form.add_error(
            "card_number",
            _("Your card was declined.")
            if result.outcome == "declined"
            else _("This is not one of the test cards."),
        )

    line_items = [
        {
            "name": item["price_data"]["product_data"]["name"],
            "description": item["price_data"]["product_data"].get("description", ""),
            "quantity": item["quantity"],
            "amount": money_from_minor_units(
                minor=item["price_data"]["unit_amount"] * item["quantity"],
                currency=order.currency,
            ),
        }
        for item in gateway_line_items(order=order)
    ]
    return render(
        request,
        "orders/test_pay.html",
        {"form": form, "order": order, "line_items": line_items},
        status=402 if form.errors else 200,
    )


# --- the order page -------------------------------------------------------------------------


def _order_context(request: HttpRequest, order: Order, channel: str) -> dict:
    rows = selectors.order_keys_rows(order=order)
    if channel in ("screen", "tracking"):
        for row in rows:
            for key_row in row.keys:
                try:
                    key_row.code = key_code_reveal(
                        key=key_row.key,
                        channel=channel,
                        ip=client_ip_get(request=request),
                        user_agent=user_agent_get(request=request),
                        user=request.user if request.user.is_authenticated else None,
                        guest_email="" if request.user.is_authenticated else order.email,
                    )
                except KeyDecryptionError:
                    key_unreadable_report(key=key_row.key, context=f"order {order.number}")
                    key_row.unreadable = True
    return {
        "order": order,
        "channel": channel,
        "rows": rows,
        "has_keys": any(row.keys for row in rows),
        # The recap lists the specific consents given; the terms themselves are linked.
        "consents": list(order.consents.exclude(kind=POLICY_ACCEPTANCE)),
        "waiting": selectors.order_is_waiting(order=order),
        "cancellable": selectors.order_cancellable(order=order),
        "resendable": selectors.order_resendable(order=order),
        "refresh_seconds": selectors.order_refresh_seconds(order=order),
    }


@never_cache
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    order, channel = _viewer_order(request, number)
    context = _order_context(request, order, channel)
    refusal = request.session.pop(REFUSAL_KEY, None)
    if isinstance(refusal, dict) and refusal.get("order") == str(order.pk):
        context["refusal_clause_url"] = refusal.get("clause_url", "")
    template = (
        "orders/_order_status.html" if request.headers.get("HX-Request") else "orders/detail.html"
    )
    return _no_store(render(request, template, context))


@require_POST
def order_resend(request: HttpRequest, number: str) -> HttpResponse:
    order, _channel = _viewer_order(request, number)
    try:
        services.order_email_resend(
            order=order, actor=request.user if request.user.is_authenticated else None
        )
    except services.OrderError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("We are sending your keys to %(email)s again.") % {"email": order.email}
        )
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("orders:detail", args=[order.number])
    return redirect(next_url)


@require_POST
def order_cancel(request: HttpRequest, number: str) -> HttpResponse:
    order, _channel = _viewer_order(request, number)
    try:
        services.order_cancel_request(
            order=order, actor=request.user if request.user.is_authenticated else None
        )
    except services.CancellationRefused as exc:
        messages.error(request, str(exc))
        request.session[REFUSAL_KEY] = {"order": str(order.pk), "clause_url": exc.clause_url}
    except services.OrderError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Your order is cancelled. The full amount is being refunded."))
    return redirect("orders:detail", number=order.number)


@require_POST
def key_reveal(request: HttpRequest, number: str, key_id: int) -> HttpResponse:
    """My Account's reveal button: decrypt one key for its owner, audited (channel account)."""
    order, channel = _viewer_order(request, number)
    key = selectors.order_key_get(order=order, key_id=key_id)
    if key is None:
        raise Http404
    try:
        code = key_code_reveal(
            key=key,
            channel="account" if channel == "account" else channel,
            ip=client_ip_get(request=request),
            user_agent=user_agent_get(request=request),
            user=request.user if request.user.is_authenticated else None,
            guest_email="" if request.user.is_authenticated else order.email,
        )
    except KeyDecryptionError:
        key_unreadable_report(key=key, context=f"order {order.number}")
        messages.error(
            request,
            _(
                "This key cannot be shown right now. Our staff have been alerted and will "
                "contact you."
            ),
        )
        return redirect("orders:detail", number=order.number)
    context = {"order": order, "key": key, "code": code}
    template = (
        "orders/_key_revealed.html" if request.headers.get("HX-Request") else "orders/key.html"
    )
    return _no_store(render(request, template, context))


# --- tracking -------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def track(request: HttpRequest) -> HttpResponse:
    form = TrackForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            order = services.order_track_lookup(
                number=form.cleaned_data["number"],
                email=form.cleaned_data["email"],
                ip=client_ip_get(request=request),
            )
        except services.RateLimited as exc:
            form.add_error(None, str(exc))
            status = 429
        else:
            if order is not None:
                _grant(request, order, "tracking")
                return redirect("orders:detail", number=order.number)
            form.add_error(
                None,
                _("We could not find an order with this number and email address."),
            )
            status = 404
    response = render(request, "orders/track.html", {"form": form}, status=status)
    return _no_store(response)


# --- webhooks -------------------------------------------------------------------------------


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    received_at = timezone.now()
    try:
        event = services.stripe_webhook_receive(
            raw_body=request.body,
            signature=request.headers.get("Stripe-Signature", ""),
            received_at=received_at,
        )
    except services.WebhookRejected:
        return HttpResponseBadRequest("invalid signature")
    except services.WebhookMalformed as exc:
        return HttpResponseBadRequest(f"not an event: {exc}")
    # Acknowledged once stored: the processing (payment, fraud check, keys, email) runs on
    # the task queue; a failure there is retried by the sweeper, not by the gateway.
    try:
        status = services.webhook_event_enqueue(event=event)
    except Exception:  # the broker is unreachable: the gateway sends the event again
        logger.exception("webhook event %s stored but not queued", event.event_id)
        return HttpResponse("stored; not queued, send again", status=503)
    return HttpResponse(status)
