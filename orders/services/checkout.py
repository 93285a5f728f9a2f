"""Checkout: a pending order from the cart (prices, tax, coupon, consents), and the
gateway session that takes the payment."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.retry import transaction_require_none
from policies.selectors import preset_active_get
from policies.services import acceptances_record_checkout
from pricing.services import CouponError, cart_quote, coupon_reserve
from pricing.taxes import TaxConfigurationError

from ..gateways import gateway_get
from ..models import (
    OPEN_ORDER_STATES,
    Order,
    OrderConsent,
    OrderEvent,
    OrderEventKind,
    OrderLine,
)
from ._common import _staff_alert
from .errors import CheckoutError
from .transitions import S

logger = logging.getLogger(__name__)


CHECKOUT_CLOSED_MESSAGE = gettext_lazy(
    "Checkout is closed for a moment while the shop publishes its sales policies. Nothing "
    "was charged; your cart is kept. Please try again later."
)
CHECKOUT_CLOSED_ALERT_KEY = "orders:checkout-closed-alert"


def checkout_closed_report() -> None:
    """A customer was turned away because no policy preset is active: log it and alert
    staff (at most once an hour), so the owner activates one."""
    logger.error("checkout refused: no active policy preset")
    if cache.add(CHECKOUT_CLOSED_ALERT_KEY, 1, timeout=3600):
        _staff_alert(
            kind="checkout_closed",
            subject="Checkout is closed: no active policy preset",
            body=(
                "A customer tried to check out and was refused because the shop has no "
                "active policy preset, so there are no published terms to accept.\n\n"
                "Activate one: `python manage.py setup_shop` on a new shop, or "
                "`python manage.py load_policy_preset <slug> --activate`, or the "
                "'Activate' action under Policies > Policy presets in the admin."
            ),
        )


# --- checkout ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentGiven:
    kind: str
    text: str
    wording_version: str
    clause: str = ""
    legal_basis: str = ""


@transaction.atomic
def order_create_from_cart(
    *,
    cart: Any,
    billing_name: str,
    email: str,
    language: str,
    user: Any = None,
    ip: str | None = None,
    user_agent: str = "",
    consents: Iterable[ConsentGiven] = (),
    billing_country: str = "",
    billing_company: str = "",
    vat_number: str = "",
    coupon_code: str = "",
) -> Order:
    """Create a pending order from the server-side cart (prices from the database only).

    Prices, discount and tax come from ``pricing.services.cart_quote`` computed here, in
    this transaction: the coupon row is locked and its use reserved with the order, so
    concurrent checkouts never use a coupon more often than allowed. A coupon that can no
    longer be used, or a VAT number that fails its check, raises ``CheckoutError``.

    A cart makes at most one open (payable) order: when ``cart.ref`` already has one,
    that order is returned and nothing new is written. Concurrent checkouts of one cart
    meet at the database constraint ``order_one_open_order_per_cart``; the losers return
    the winner's order.
    """
    if cart.is_empty:
        raise CheckoutError(_("Your cart is empty."))
    currencies = {line.product.currency for line in cart.lines}
    if len(currencies) != 1:
        raise CheckoutError(_("Items priced in different currencies must be bought separately."))
    existing = _cart_open_order_get(cart_ref=cart.ref)
    if existing is not None:
        return existing
    preset = preset_active_get()
    quote = _checkout_quote(
        cart=cart,
        billing_country=billing_country,
        vat_number=vat_number,
        coupon_code=coupon_code,
        email=email,
    )
    try:
        with transaction.atomic():
            order = _order_insert(
                cart=cart,
                currency=currencies.pop(),
                user=user,
                email=email,
                billing_name=billing_name,
                language=language,
                ip=ip,
                user_agent=user_agent,
                preset_slug=preset.slug if preset else "",
                quote=quote,
                billing_company=billing_company,
            )
    except IntegrityError:
        existing = _cart_open_order_get(cart_ref=cart.ref)
        if existing is None:
            raise
        return existing
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                product=line.product,
                product_name=line.product.name,
                quantity=line.quantity,
                unit_price=priced.unit_price,
                discount_amount=priced.discount,
                net_amount=priced.net,
                tax_amount=priced.tax,
                tax_rate=priced.rate,
                line_total=priced.total,
            )
            for line, priced in zip(cart.lines, quote.tax.lines, strict=True)
        ]
    )
    if quote.coupon is not None:
        coupon_reserve(
            coupon=quote.coupon,
            order_id=order.pk,
            order_number=order.number,
            email=order.email,
            discount_total=quote.tax.discount_total,
        )
    now = timezone.now()
    given = list(consents)
    OrderConsent.objects.bulk_create(
        [
            OrderConsent(
                order=order,
                kind=c.kind,
                clause=c.clause,
                wording_version=c.wording_version,
                text=c.text,
                legal_basis=c.legal_basis,
                ip=ip or None,
                user_agent=(user_agent or "")[:400],
                accepted_at=now,
            )
            for c in given
        ]
    )
    _policy_acceptances_record(
        order=order, language=language, kinds={c.kind for c in given}, ip=ip, ua=user_agent
    )
    OrderEvent.objects.create(
        order=order,
        kind=OrderEventKind.STATUS,
        from_status="",
        to_status=S.PENDING,
        reason="checkout",
    )
    return order


def _checkout_quote(
    *, cart: Any, billing_country: str, vat_number: str, coupon_code: str, email: str
) -> Any:
    try:
        quote = cart_quote(
            cart=cart,
            billing_country=billing_country,
            vat_number=vat_number,
            coupon_code=coupon_code,
            email=email,
            lock_coupon=True,
            coupon_required=bool(coupon_code),
        )
    except CouponError as exc:
        raise CheckoutError(str(exc)) from exc
    except TaxConfigurationError as exc:
        logger.error("checkout refused: %s", exc)
        raise CheckoutError(_("Checkout is not available for this country right now.")) from exc
    if vat_number and not quote.vat.valid:
        raise CheckoutError(quote.vat.error or _("This VAT number is not valid."))
    return quote


def _cart_open_order_get(*, cart_ref: str) -> Order | None:
    if not cart_ref:
        return None
    return Order.objects.filter(cart_ref=cart_ref, status__in=OPEN_ORDER_STATES).first()


def _order_insert(
    *,
    cart: Any,
    currency: str,
    user: Any,
    email: str,
    billing_name: str,
    language: str,
    ip: str | None,
    user_agent: str,
    preset_slug: str,
    quote: Any,
    billing_company: str,
) -> Order:
    tax = quote.tax
    return Order.objects.create(
        user=user if getattr(user, "is_authenticated", False) else None,
        email=email.strip(),
        billing_name=billing_name.strip(),
        language=language,
        currency=currency,
        total=tax.total,
        subtotal=tax.subtotal,
        discount_total=tax.discount_total,
        net_total=tax.net_total,
        tax_total=tax.tax_total,
        tax_regime=tax.regime,
        tax_treatment=tax.treatment,
        billing_country=quote.billing_country,
        billing_company=billing_company.strip(),
        billing_vat_number=quote.vat.number if quote.vat.valid else "",
        coupon_code=quote.coupon_code,
        purchase_ip=ip or None,
        user_agent=(user_agent or "")[:400],
        policy_preset=preset_slug,
        gateway=settings.PAYMENT_GATEWAY,
        cart_ref=cart.ref,
    )


def _policy_acceptances_record(
    *, order: Order, language: str, kinds: set[str], ip: str | None, ua: str
) -> None:
    try:
        acceptances_record_checkout(
            order_ref=order.number, language=language, given=kinds, ip=ip, user_agent=ua
        )
    except ValueError as exc:  # a required consent is missing
        raise CheckoutError(_("Please tick every required box to continue.")) from exc


def order_checkout_start(*, order: Order, site_url: str = "") -> str:
    """Open a payment session at the gateway (outside any transaction); return its URL."""
    transaction_require_none(what="order_checkout_start calls the payment gateway")
    gateway = gateway_get(name=order.gateway)
    base = (site_url or settings.SITE_URL).rstrip("/")
    session = gateway.session_create(
        order=order,
        success_url=base + reverse("orders:payment_return", kwargs={"number": order.number}),
        cancel_url=base + reverse("orders:detail", kwargs={"number": order.number}),
    )
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.gateway_session_id != session.id:
            locked.gateway_session_id = session.id
            locked.save(update_fields=["gateway_session_id"])
        order.gateway_session_id = session.id
    return session.url
