"""Order writes: checkout, payment confirmation, fraud holds, delivery, email, refunds.

Rules kept everywhere below:
- status changes go through ``order_transition`` (allowed moves + an OrderEvent row);
- rows are locked in one order: order -> line -> key (keys are locked by ``keys``);
- the gateway (Stripe) is never called inside a database transaction;
- tasks are enqueued on commit; every service can run twice and leave the same state.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.money import money_from_minor_units, money_to_minor_units
from core.ratelimit import ratelimit_check, ratelimit_hit

from .conf import orders_setting
from .gateways import GatewayError, gateway_get
from .hooks import hooks_run_on_commit, order_paid_hooks, refund_succeeded_hooks
from .models import (
    OPEN_ORDER_STATES,
    BackorderInfo,
    BlocklistEntry,
    BlocklistKind,
    Order,
    OrderConsent,
    OrderEmail,
    OrderEmailKind,
    OrderEmailStatus,
    OrderEvent,
    OrderEventKind,
    OrderLine,
    OrderRisk,
    OrderStatus,
    Refund,
    RefundStatus,
    WebhookEvent,
    WebhookEventStatus,
)

logger = logging.getLogger(__name__)
S = OrderStatus

# --- the state machine ----------------------------------------------------------------------

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.PAID, S.FAILED, S.EXPIRED, S.CANCELLED}),
    # Money can arrive after a failed attempt or an expiry event (out-of-order webhooks):
    # the order is then paid and must be delivered or refunded.
    S.FAILED: frozenset({S.PAID, S.EXPIRED, S.CANCELLED}),
    S.EXPIRED: frozenset({S.PAID}),
    S.PAID: frozenset({S.ON_HOLD, S.DELIVERED, S.BACKORDERED, S.CANCELLED, S.DISPUTED}),
    S.ON_HOLD: frozenset({S.DELIVERED, S.BACKORDERED, S.CANCELLED, S.DISPUTED}),
    S.BACKORDERED: frozenset({S.DELIVERED, S.CANCELLED, S.DISPUTED}),
    S.DELIVERED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED, S.DISPUTED}),
    S.PARTIALLY_REFUNDED: frozenset({S.REFUNDED, S.DISPUTED}),
    S.DISPUTED: frozenset({S.DELIVERED, S.PARTIALLY_REFUNDED, S.REFUNDED, S.CANCELLED}),
    S.REFUNDED: frozenset({S.DISPUTED}),
    S.CANCELLED: frozenset({S.DISPUTED}),
}
PAID_STATES = frozenset(
    {
        S.PAID,
        S.ON_HOLD,
        S.BACKORDERED,
        S.DELIVERED,
        S.PARTIALLY_REFUNDED,
        S.REFUNDED,
        S.DISPUTED,
    }
)
UNPAID_STATES = frozenset({S.PENDING, S.FAILED, S.EXPIRED})
CANCELLABLE_STATES = frozenset({S.PENDING, S.FAILED, S.PAID, S.ON_HOLD, S.BACKORDERED})


class OrderError(Exception):
    """An order operation that cannot be done; the message can be shown to staff."""


class OrderTransitionError(OrderError):
    pass


class CheckoutError(OrderError):
    pass


CHECKOUT_CLOSED_MESSAGE = gettext_lazy(
    "Checkout is closed for a moment while the shop publishes its sales policies. Nothing "
    "was charged; your cart is kept. Please try again later."
)
CHECKOUT_CLOSED_ALERT_KEY = "orders:checkout-closed-alert"


def checkout_closed_report() -> None:
    """A customer was turned away because no policy preset is active: log it and alert
    staff (at most once an hour), so the owner activates one."""
    from django.core.cache import cache

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


class RateLimited(OrderError):
    pass


class CancellationRefused(OrderError):
    def __init__(self, message: str, clause: str = "", clause_url: str = "") -> None:
        super().__init__(message)
        self.clause = clause
        self.clause_url = clause_url


def _require_no_transaction(what: str) -> None:
    """The gateway is never called inside a transaction (a test case's own wrapper aside)."""
    blocks = transaction.get_connection().atomic_blocks
    if any(not getattr(block, "_from_testcase", False) for block in blocks):
        raise RuntimeError(f"{what} calls the payment gateway: not inside a transaction")


def _on_commit_task(task_name: str, *args: Any) -> None:
    """Enqueue an orders task after the current transaction commits."""
    from . import tasks

    getattr(tasks, task_name).delay_on_commit(*args)


def order_event_add(
    *, order: Order, kind: str, reason: str, actor: Any = None, from_status: str = ""
) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order,
        actor=actor if getattr(actor, "pk", None) else None,
        kind=kind,
        from_status=from_status or order.status,
        to_status=order.status,
        reason=reason[:500],
    )


def order_line_add_for_exchange(
    *, order_line: OrderLine, product: Any, reference: str, actor: Any = None
) -> OrderLine:
    """The line that holds the product a key was exchanged for (already paid for by the
    claimed line, so its price is 0). One per claim reference: calling again returns it."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_line.order_id)
        line, created = OrderLine.objects.get_or_create(
            order=order,
            exchange_reference=reference,
            defaults={
                "product": product,
                "product_name": product.name,
                "quantity": 1,
                "unit_price": Decimal("0.00"),
                "line_total": Decimal("0.00"),
            },
        )
        if created:
            order_event_add(
                order=order,
                kind="exchange_line",
                actor=actor,
                reason=f"{order_line.product_name} exchanged for {product.name} ({reference})",
            )
    return line


def order_transition(*, order: Order, to_status: str, actor: Any = None, reason: str = "") -> bool:
    """Move ``order`` to ``to_status`` if the move is allowed; write an OrderEvent row.

    Locks the order row. Returns False (and writes nothing) when the order already has
    that status, so a repeated call is harmless; raises OrderTransitionError otherwise.
    """
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        moved = _order_transition_locked(
            locked=locked, to_status=to_status, actor=actor, reason=reason
        )
        _copy_state(locked, order)
        return moved


def _order_transition_locked(
    *,
    locked: Order,
    to_status: str,
    actor: Any = None,
    reason: str = "",
    also_save: tuple[str, ...] = (),
    events: list[OrderEvent] | None = None,
) -> bool:
    """``order_transition`` for an order row the caller's transaction already locked
    (fresh from ``select_for_update``): no second read of the row. ``also_save`` names
    fields the caller changed, written by the same UPDATE; with ``events`` the event row
    is appended there for the caller to insert with its others (one ``bulk_create``)."""
    from_status = locked.status
    if from_status == to_status:
        if also_save:
            locked.save(update_fields=list(also_save))
        return False
    if to_status not in ALLOWED_TRANSITIONS.get(from_status, frozenset()):
        raise OrderTransitionError(
            f"order {locked.number}: {from_status} -> {to_status} is not allowed"
        )
    now = timezone.now()
    locked.status = to_status
    fields = ["status", *also_save]
    if to_status == S.PAID and locked.paid_at is None:
        locked.paid_at = now
        fields.append("paid_at")
    if to_status == S.DELIVERED and locked.delivered_at is None:
        locked.delivered_at = now
        fields.append("delivered_at")
    locked.save(update_fields=fields)
    event = OrderEvent(
        order=locked,
        actor=actor if getattr(actor, "pk", None) else None,
        kind=OrderEventKind.STATUS,
        from_status=from_status,
        to_status=to_status,
        reason=reason[:500],
    )
    if events is None:
        event.save()
    else:
        events.append(event)
    _coupon_follow(order=locked, to_status=to_status)
    if to_status in ORDER_WEBHOOK_EVENTS:
        order_webhook_emit(
            order=locked,
            event=ORDER_WEBHOOK_EVENTS[to_status],
            dedupe_key=f"{ORDER_WEBHOOK_EVENTS[to_status]}:{locked.pk}",
        )
    return True


def _coupon_follow(*, order: Order, to_status: str) -> None:
    """A coupon's use follows its order: redeemed when paid, released when the order ends
    unpaid (payment failed, checkout expired, cancelled before payment)."""
    if not order.coupon_code:
        return
    from pricing.services import coupon_redemption_redeem, coupon_redemption_release

    if to_status == S.PAID:
        over = coupon_redemption_redeem(order_id=order.pk)
        if over:
            reason = f"coupon {', '.join(over)} was used up while this order was unpaid"
            order_event_add(order=order, kind=OrderEventKind.NOTE, reason=reason)
            _staff_alert(
                kind="coupon_overused",
                subject=f"Order {order.number}: coupon over its limit",
                body=f"{reason}; the order was paid with the discount.",
                dedupe_key=f"coupon_overused:{order.pk}",
            )
    elif to_status in (S.FAILED, S.EXPIRED, S.CANCELLED) and order.paid_at is None:
        coupon_redemption_release(order_id=order.pk)


# The order events merchants' endpoints can subscribe to, by the status that raises them
# (once per order: a paid order redelivered, or a dispute won, does not raise them again).
ORDER_WEBHOOK_EVENTS = {S.PAID: "order.paid", S.DELIVERED: "order.delivered",
                        S.ON_HOLD: "order.on_hold"}  # fmt: skip


def order_webhook_payload(*, order: Order) -> dict[str, Any]:
    """What an outgoing webhook says about an order: ids, numbers, status and amounts
    (as strings); never the customer's email, address, IP or a key code."""
    lines = [
        {
            "id": line.pk,
            "product_id": line.product_id,
            "sku": line.product.sku,
            "product_name": line.product_name,
            "quantity": line.quantity,
            "unit_price": str(line.unit_price),
            "line_total": str(line.line_total),
        }
        for line in order.lines.select_related("product").order_by("id")
    ]
    return {
        "order": {
            "id": str(order.pk),
            "number": order.number,
            "status": order.status,
            "currency": order.currency,
            "total": str(order.total),
            "refunded_total": str(order.refunded_total),
            "paid_at": order.paid_at.isoformat() if order.paid_at else None,
            "delivered_at": order.delivered_at.isoformat() if order.delivered_at else None,
            "lines": lines,
        }
    }


def order_webhook_emit(
    *, order: Order, event: str, dedupe_key: str, extra: dict[str, Any] | None = None
) -> None:
    """Raise an outgoing webhook event about ``order`` (inside the caller's transaction)."""
    from webhooks.services import webhook_event_emit

    webhook_event_emit(
        event=event,
        payload=lambda: {**order_webhook_payload(order=order), **(extra or {})},
        dedupe_key=dedupe_key,
    )


def _copy_state(source: Order, target: Order) -> None:
    if source is not target:
        for name in ("status", "paid_at", "delivered_at", "refunded_total"):
            setattr(target, name, getattr(source, name))


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
    preset = _preset_active()
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
        from pricing.services import coupon_reserve

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
    from pricing.services import CouponError, cart_quote
    from pricing.taxes import TaxConfigurationError

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
    from policies.services import acceptances_record_checkout

    try:
        acceptances_record_checkout(
            order_ref=order.number, language=language, given=kinds, ip=ip, user_agent=ua
        )
    except ValueError as exc:  # a required consent is missing
        raise CheckoutError(_("Please tick every required box to continue.")) from exc


def _preset_active():
    from policies.selectors import preset_active_get

    return preset_active_get()


def order_checkout_start(*, order: Order, site_url: str = "") -> str:
    """Open a payment session at the gateway (outside any transaction); return its URL."""
    _require_no_transaction("order_checkout_start")
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


# --- payment confirmation ---------------------------------------------------------------------


# Set by a task that delivers the orders it confirms itself, right after its transaction
# commits (orders.tasks.orders_webhook_process): one task per paid order instead of two.
@dataclass(frozen=True)
class PaidNow:
    order_id: str
    replay_deferred: bool  # events waited for this payment: replay them after delivery
    order: Order | None  # as committed, when it has no risk row (order_deliver(paid_now=))


_DELIVER_INLINE: ContextVar[list[PaidNow] | None] = ContextVar(
    "orders_deliver_inline", default=None
)


@contextmanager
def deliveries_inline() -> Iterator[list[PaidNow]]:
    """Inside this block, an order confirmed paid is not handed to a delivery task: once
    its transaction commits, a :class:`PaidNow` is appended to the yielded list and the
    caller (a task, outside any transaction) delivers it, then replays the events that
    waited for the payment (``orders_webhook_replay_deferred``). A caller that dies before
    that leaves a paid order the sweeper re-drives (``orders_sweep_undelivered``)."""
    collected: list[PaidNow] = []
    token = _DELIVER_INLINE.set(collected)
    try:
        yield collected
    finally:
        _DELIVER_INLINE.reset(token)


def _delivery_schedule(*, order: Order, replay_deferred: bool, facts_given: bool) -> None:
    order_id = str(order.pk)
    inline = _DELIVER_INLINE.get()
    if inline is not None:
        paid = PaidNow(order_id, replay_deferred, None if facts_given else order)
        transaction.on_commit(lambda: inline.append(paid))
        return
    _on_commit_task("orders_deliver", order_id)
    if replay_deferred:
        _on_commit_task("orders_webhook_replay_deferred", order_id)


@dataclass(frozen=True)
class PaymentConfirmation:
    order: Order
    newly_paid: bool
    problem: str = ""  # set when the payment was NOT accepted for this order


def order_payment_confirm(
    *,
    order_id: Any,
    amount_minor: int,
    currency: str,
    payment_id: str,
    source: str,
    risk_level: str = "",
    card_fingerprint: str = "",
    card_country: str = "",
) -> PaymentConfirmation:
    """Record that the gateway took the money for ``order_id``: idempotent, row-locked.

    Only the first confirmation moves the order to paid and enqueues its processing
    (fraud check then delivery); later ones (webhook retries, the success page racing the
    webhook) change nothing. A wrong amount or currency, or money for an order cancelled
    before payment, leaves the order unpaid and alerts staff (``problem`` is set).
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status in PAID_STATES or (order.status == S.CANCELLED and order.paid_at):
            return PaymentConfirmation(order=order, newly_paid=False)
        expected = money_to_minor_units(amount=order.total, currency=order.currency)
        problem = ""
        if amount_minor != expected or currency.lower() != order.currency.lower():
            problem = (
                f"{source}: paid {amount_minor} {currency.upper()} "
                f"but the order expects {expected} {order.currency.upper()}"
            )
        elif order.status == S.CANCELLED:
            problem = f"{source}: payment received for an order cancelled before payment"
        if problem:
            order_event_add(order=order, kind=OrderEventKind.AMOUNT_MISMATCH, reason=problem)
            _staff_alert(
                kind="payment_problem",
                subject=f"Payment problem on order {order.number}",
                body=problem + "\nThe order was NOT marked paid. Check the payment.",
                dedupe_key=f"order:{order.pk}:payment-problem:{payment_id}",
            )
            return PaymentConfirmation(order=order, newly_paid=False, problem=problem)
        if risk_level or card_fingerprint:  # else the fraud check creates the row
            risk, _created = OrderRisk.objects.get_or_create(order=order)
            fields = []
            if risk_level and risk.risk_level != risk_level:
                risk.risk_level = risk_level
                fields.append("risk_level")
            if card_fingerprint and risk.card_fingerprint != card_fingerprint:
                risk.card_fingerprint = card_fingerprint
                fields.append("card_fingerprint")
            if fields:
                risk.save(update_fields=fields)
        also_save: tuple[str, ...] = ()
        if payment_id and order.gateway_payment_id != payment_id:
            order.gateway_payment_id = payment_id
            also_save = ("gateway_payment_id",)
        order_card_country_record(order=order, card_country=card_country)
        _order_transition_locked(
            locked=order,
            to_status=S.PAID,
            reason=f"payment confirmed ({source})",
            also_save=also_save,
        )
        hooks_run_on_commit(registry=order_paid_hooks, order_id=str(order.pk))
        replay = WebhookEvent.objects.filter(
            order=order, status=WebhookEventStatus.DEFERRED
        ).exists()
        _delivery_schedule(
            order=order, replay_deferred=replay, facts_given=bool(risk_level or card_fingerprint)
        )
        return PaymentConfirmation(order=order, newly_paid=True)


def order_payment_sync(*, order: Order) -> Order:
    """Ask the gateway about the order's session (the success page); confirm if paid."""
    if order.status not in UNPAID_STATES or not order.gateway_session_id:
        return order
    state = gateway_get(name=order.gateway).session_retrieve(session_id=order.gateway_session_id)
    if not state.paid:
        return order
    if state.order_id and state.order_id != str(order.pk):
        raise OrderError("session belongs to another order")
    return order_payment_confirm(
        order_id=order.pk,
        amount_minor=state.amount_minor,
        currency=state.currency,
        payment_id=state.payment_id,
        source="success page",
        risk_level=state.risk_level,
        card_fingerprint=state.card_fingerprint,
        card_country=state.card_country,
    ).order


def order_card_country_record(*, order: Order, card_country: str) -> None:
    """Keep the card's issuing country (the second piece of location evidence next to the
    billing country); when they differ, flag the order, write an event and alert staff.
    Call with the order row locked."""
    country = (card_country or "").strip().upper()[:2]
    if not country or order.card_country == country:
        return
    order.card_country = country
    fields = ["card_country"]
    conflict = bool(order.billing_country) and country != order.billing_country
    if conflict and not order.location_conflict:
        order.location_conflict = True
        fields.append("location_conflict")
    order.save(update_fields=fields)
    if conflict:
        reason = (
            f"location conflict: billing country {order.billing_country}, card issued in {country}"
        )
        order_event_add(order=order, kind=OrderEventKind.LOCATION, reason=reason)
        _staff_alert(
            kind="location_conflict",
            subject=f"Order {order.number}: billing country and card country differ",
            body=reason + ". Check the tax country (VAT is charged for the billing country).",
            dedupe_key=f"location_conflict:{order.pk}",
        )


@dataclass(frozen=True)
class TestPaymentResult:
    outcome: str  # paid | declined | invalid
    order: Order
    __test__ = False


def payment_test_card_submit(*, session_id: str, card_number: str) -> TestPaymentResult:
    """The local test gateway's hosted page: charge a test card for the session's order."""
    from .gateways import test_card_country, test_card_fingerprint, test_card_outcome

    order = Order.objects.get(gateway="test", gateway_session_id=session_id)
    outcome = test_card_outcome(number=card_number)
    if outcome in ("decline", "unknown"):
        with transaction.atomic():
            locked = Order.objects.select_for_update().get(pk=order.pk)
            order_event_add(
                order=locked,
                kind=OrderEventKind.PAYMENT,
                reason="test card declined" if outcome == "decline" else "unknown test card",
            )
        return TestPaymentResult(
            outcome="declined" if outcome == "decline" else "invalid", order=order
        )
    digest = session_id.removeprefix("test_cs_")
    result = order_payment_confirm(
        order_id=order.pk,
        amount_minor=money_to_minor_units(amount=order.total, currency=order.currency),
        currency=order.currency,
        payment_id=f"test_pi_{digest}",
        source="test gateway",
        risk_level="highest" if outcome == "fraud" else "normal",
        card_fingerprint=test_card_fingerprint(number=card_number),
        card_country=test_card_country(number=card_number),
    )
    return TestPaymentResult(outcome="paid", order=result.order)


# --- fraud checks and holds -------------------------------------------------------------------


def blocklist_add(*, kind: str, value: str, reason: str = "", actor: Any = None) -> BlocklistEntry:
    """Block an email, email domain, IP or card fingerprint (idempotent)."""
    kind = {"domain": BlocklistKind.EMAIL_DOMAIN}.get(kind, kind)
    if kind not in BlocklistKind.values:
        raise OrderError(f"unknown blocklist kind {kind!r}")
    value = value.strip().lower().lstrip("@")
    if not value:
        raise OrderError("blocklist value is empty")
    try:
        with transaction.atomic():
            entry, _created = BlocklistEntry.objects.get_or_create(
                kind=kind,
                value=value,
                defaults={
                    "reason": reason[:300],
                    "created_by": actor if getattr(actor, "pk", None) else None,
                },
            )
    except IntegrityError:
        entry = BlocklistEntry.objects.get(kind=kind, value=value)
    return entry


def _order_risk_facts_fetch(*, order: Order, risk: OrderRisk | None):
    """Risk facts (Radar level, card fingerprint) the gateway has and we lack, or None.

    Called outside any transaction: it may ask the gateway over the network.
    """
    if risk is not None and (risk.risk_level or risk.checked_at):
        return None
    return gateway_get(name=order.gateway).risk_get(order=order)


def _keys_reserve(*, order: Order) -> dict[int, int]:
    """Reserve keys for every line of a held order; returns the shortfall per line id."""
    from keys.services import key_allocate

    shortfall = {}
    for line in order.lines.select_for_update().order_by("id"):
        result = key_allocate(order_line=line, quantity=line.quantity, status="reserved")
        if not result.ok:
            shortfall[line.pk] = int(result.shortfall)
    return shortfall


def order_hold_release(*, order: Order, actor: Any, note: str = "") -> Order:
    """Staff clear a security hold: delivery follows at once."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status != S.ON_HOLD:
            raise OrderError(_("Only an order on hold can be released."))
        risk, _created = OrderRisk.objects.select_for_update().get_or_create(order=locked)
        if risk.released_at is None:
            risk.released_at = timezone.now()
            risk.released_by = actor if getattr(actor, "pk", None) else None
            risk.save(update_fields=["released_at", "released_by"])
            order_event_add(
                order=locked,
                kind=OrderEventKind.HOLD_RELEASED,
                actor=actor,
                reason=note or "security hold released by staff",
            )
        _on_commit_task("orders_deliver", str(locked.pk))
    return locked


# --- delivery ---------------------------------------------------------------------------------


@dataclass
class DeliveryOutcome:
    status: str  # delivered | held | backordered | skipped
    email_ids: list[int] = field(default_factory=list)
    # outbox messages this run created already leased to its caller, which sends them
    # at once (core.outbox.outbox_send_leased); their email ids are not in email_ids
    leased_messages: list[Any] = field(default_factory=list)


def order_deliver(*, order_id: Any, paid_now: Order | None = None) -> DeliveryOutcome:
    """Run the paid-order pipeline once: fraud check, then hold or allocate and deliver.

    Safe to call any number of times, concurrently: the order row lock serializes runs and
    each step checks what was already done. Returns the emails the caller should send now.
    ``paid_now``: the order as the committed confirmation that made it paid (without risk
    facts) left it, so it has no risk row yet; it is not read again before the gateway's
    risk lookup (everything is checked again under the lock).
    """
    if paid_now is not None:
        order, risk = paid_now, None
    else:
        order = Order.objects.select_related("risk").get(pk=order_id)
        risk = getattr(order, "risk", None)  # none yet: RelatedObjectDoesNotExist
    if order.status not in (S.PAID, S.ON_HOLD, S.BACKORDERED):
        return _delivery_emails_pending(order=order)
    # may call the gateway: never inside a transaction
    facts = _order_risk_facts_fetch(order=order, risk=risk) if order.status == S.PAID else None
    from .selectors import fraud_check

    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        # Every writer of an order's risk row holds the order's lock: no race on creating it.
        risk = OrderRisk.objects.select_for_update().filter(order=order).first()
        risk_new = risk is None
        if risk_new:
            risk = OrderRisk(order=order)
        risk_fields: list[str] = []
        if facts is not None and (facts.risk_level or facts.card_fingerprint):
            risk.risk_level = facts.risk_level or risk.risk_level
            risk.card_fingerprint = facts.card_fingerprint or risk.card_fingerprint
            risk_fields += ["risk_level", "card_fingerprint"]
        if facts is not None:
            order_card_country_record(order=order, card_country=facts.card_country)
        events: list[OrderEvent] = []
        if order.status == S.PAID and risk.checked_at is None:
            verdict = fraud_check(order=order, risk=risk)
            risk.checked_at = timezone.now()
            risk_fields.append("checked_at")
            events.append(
                OrderEvent(
                    order=order,
                    kind=OrderEventKind.FRAUD,
                    from_status=order.status,
                    to_status=order.status,
                    reason=("hold: " + "; ".join(verdict.reasons) if verdict.hold else "passed")[
                        :500
                    ],
                )
            )
            if verdict.hold:
                risk.hold_reasons = verdict.reasons
                risk.held_at = risk.checked_at
                risk_fields += ["hold_reasons", "held_at"]
                _risk_save(risk=risk, new=risk_new, fields=risk_fields)
                _order_transition_locked(
                    locked=order,
                    to_status=S.ON_HOLD,
                    reason="; ".join(verdict.reasons),
                    events=events,
                )
                OrderEvent.objects.bulk_create(events)
                _keys_reserve(order=order)
                email = _order_email_create(order=order, kind=OrderEmailKind.HOLD, schedule=False)
                return DeliveryOutcome(status="held", email_ids=[email.pk] if email else [])
        _risk_save(risk=risk, new=risk_new, fields=risk_fields)
        if order.status == S.ON_HOLD and risk.released_at is None:
            OrderEvent.objects.bulk_create(events)
            return DeliveryOutcome(status="held")
        if order.status not in (S.PAID, S.ON_HOLD, S.BACKORDERED):
            OrderEvent.objects.bulk_create(events)
            return DeliveryOutcome(status="skipped")
        return _order_keys_deliver(order=order, events=events)


def _risk_save(*, risk: OrderRisk, new: bool, fields: list[str]) -> None:
    if new:
        risk.save(force_insert=True)
    elif fields:
        risk.save(update_fields=list(dict.fromkeys(fields)))


def _order_keys_deliver(*, order: Order, events: list[OrderEvent] | None = None) -> DeliveryOutcome:
    """Inside the order lock: give every line its keys, all or nothing, then deliver.
    ``events`` (order events of this run not written yet) go in with the delivery's own."""
    from keys.services import key_allocate

    events = [] if events is None else events
    shortfall: dict[int, int] = {}
    savepoint = transaction.savepoint()
    lines = list(
        order.lines.select_for_update(of=("self",)).select_related("product").order_by("id")
    )
    keys = []
    for line in lines:
        # Keys the line already holds count (reserved ones are delivered), so this never
        # allocates twice; short stock changes nothing for that line.
        result = key_allocate(
            order_line=line, quantity=line.quantity, status="delivered", line_locked=True
        )
        if not result.ok:
            shortfall[line.pk] = int(result.shortfall)
        keys += result.keys
    if shortfall:
        transaction.savepoint_rollback(savepoint)
        OrderEvent.objects.bulk_create(events)
        return _order_backorder(order=order, shortfall=shortfall)
    transaction.savepoint_commit(savepoint)
    _order_transition_locked(
        locked=order, to_status=S.DELIVERED, reason="keys delivered", events=events
    )
    OrderEvent.objects.bulk_create(events)
    # Delivered happens once, in this transaction: its email row cannot exist yet, nor its
    # outbox message, which is created leased to this worker: it sends it right after commit.
    email = OrderEmail.objects.create(order=order, kind=OrderEmailKind.DELIVERY)
    message = _order_email_enqueue(email=email, schedule=False, lease=True)
    # what the renderer would read again, handed over in memory (never stored)
    message.prefetched = {"email": email, "lines": lines, "keys": keys}
    return DeliveryOutcome(status="delivered", leased_messages=[message])


def _backorder_deadline_hours() -> int:
    preset = _preset_active()
    hours = preset.delivery.non_delivery_deadline_hours if preset else None
    return int(hours) if hours else orders_setting("BACKORDER_REFUND_HOURS")


def _order_backorder(*, order: Order, shortfall: dict[int, int]) -> DeliveryOutcome:
    if order.status == S.BACKORDERED:
        return DeliveryOutcome(status="backordered")
    now = timezone.now()
    order_transition(order=order, to_status=S.BACKORDERED, reason="out of stock after payment")
    info, created = BackorderInfo.objects.get_or_create(
        order=order,
        defaults={
            "since": now,
            "deadline": now + timedelta(hours=_backorder_deadline_hours()),
            "shortfall": {str(k): v for k, v in shortfall.items()},
            "staff_alerted_at": now,
        },
    )
    if created:
        lines = ", ".join(
            f"{line.product_name} x{shortfall[line.pk]}"
            for line in order.lines.all()
            if line.pk in shortfall
        )
        _staff_alert(
            kind="backorder",
            subject=f"Order {order.number} is waiting for stock",
            body=(
                f"Order {order.number} was paid but keys are missing: {lines}.\n"
                f"It is refunded automatically at {info.deadline:%Y-%m-%d %H:%M %Z} "
                "unless stock arrives first."
            ),
        )
    email = _order_email_create(order=order, kind=OrderEmailKind.BACKORDER, schedule=False)
    return DeliveryOutcome(status="backordered", email_ids=[email.pk] if email else [])


def _delivery_emails_pending(*, order: Order) -> DeliveryOutcome:
    ids = list(
        OrderEmail.objects.filter(order=order)
        .exclude(status=OrderEmailStatus.SENT)
        .values_list("pk", flat=True)
    )
    return DeliveryOutcome(status="skipped", email_ids=ids)


# --- customer emails --------------------------------------------------------------------------


def _order_email_create(
    *, order: Order, kind: str, actor: Any = None, enqueue: bool = True, schedule: bool = True
) -> OrderEmail | None:
    """The email row for ``kind`` (created once per order, except resends), with its
    outbox message unless ``enqueue`` is False. The message is sent after commit, or
    (``schedule=False``) by the delivery task that made it, right after."""
    if kind != OrderEmailKind.RESEND:
        existing = OrderEmail.objects.filter(order=order, kind=kind).first()
        if existing is not None:
            return existing if existing.status != OrderEmailStatus.SENT else None
    email = OrderEmail.objects.create(
        order=order,
        kind=kind,
        requested_by=actor if getattr(actor, "pk", None) else None,
    )
    if enqueue:
        _order_email_enqueue(email=email, schedule=schedule)
    return email


EMAIL_TEMPLATES = {
    OrderEmailKind.DELIVERY: "order_delivered",
    OrderEmailKind.RESEND: "order_delivered",
    OrderEmailKind.HOLD: "order_on_hold",
    OrderEmailKind.BACKORDER: "order_backordered",
    OrderEmailKind.CANCELLED: "order_cancelled",
}
OUTBOX_NAME = "orders.email"  # the renderer and hook registered in OrdersConfig.ready


def _order_email_key(email: OrderEmail) -> str:
    return f"order-email:{email.pk}:{email.kind}"


def _order_emails_without_message():
    """Unsent email rows whose outbox message was never written (same key, in SQL)."""
    from django.db.models import CharField, Exists, OuterRef, Value
    from django.db.models.functions import Cast, Concat

    from core.models import OutboundEmail

    key = Concat(
        Value("order-email:"), Cast("pk", CharField()), Value(":"), "kind", output_field=CharField()
    )
    return (
        OrderEmail.objects.filter(status__in=[OrderEmailStatus.PENDING, OrderEmailStatus.FAILED])
        .annotate(outbox_key=key)
        .filter(~Exists(OutboundEmail.objects.filter(idempotency_key=OuterRef("outbox_key"))))
    )


def _order_email_enqueue(*, email: OrderEmail, schedule: bool = True, lease: bool = False):
    """The outbox message of one order email (created once; no key code is stored: the
    body is rendered when it is sent). ``lease``: the email row was just created in this
    transaction, so its message cannot exist yet; it is written leased to the caller
    (``core.outbox.outbox_enqueue``), who sends it after commit."""
    from core.outbox import outbox_enqueue

    return outbox_enqueue(
        idempotency_key=_order_email_key(email),
        to=[email.order.email],
        renderer=OUTBOX_NAME,
        context={"order_email_id": email.pk},
        hook=OUTBOX_NAME,
        schedule=schedule,
        lease=lease,
    )


def order_email_send(*, email_id: int) -> str:
    """Send one order email now through the outbox; returns sent | failed | busy | done.

    The outbox leases the message, talks to SMTP outside any transaction (no row of the
    order or of its email is locked meanwhile) and marks it sent only once the server
    accepted it; a failure is retried with backoff. The keys stay visible in My Account
    and on the order page meanwhile.
    """
    from core.outbox import outbox_send

    email = OrderEmail.objects.select_related("order").get(pk=email_id)
    if email.status == OrderEmailStatus.SENT:
        return "done"
    message = _order_email_enqueue(email=email)
    result = outbox_send(message_id=message.pk)
    return {"retry": "failed", "not_due": "busy", "gave_up": "failed"}.get(result, result)


def order_email_render(*, message):
    """The outbox renderer of order emails: rendered at send time, codes included (never
    stored). The key ids shown go to the hook, which audits them once the server accepted."""
    from core.emails import email_render
    from core.outbox import RenderedEmail

    prefetched = getattr(message, "prefetched", None) or {}
    email = prefetched.get("email")
    if email is None or email.pk != message.context["order_email_id"]:
        email, prefetched = (
            OrderEmail.objects.select_related("order").get(pk=message.context["order_email_id"]),
            {},
        )
    order = email.order
    context = _email_context(
        order=order, kind=email.kind, lines=prefetched.get("lines"), keys=prefetched.get("keys")
    )
    rendered = email_render(
        name=EMAIL_TEMPLATES[email.kind], context=context, language=order.language or "en"
    )
    return RenderedEmail(
        subject=rendered.subject,
        text=rendered.body,
        html=rendered.alternatives[0][0],
        to=[order.email],
        headers={"X-Order-Number": order.number, "X-Order-Email": email.kind},
        facts={"key_ids": context.pop("key_ids")},
    )


def order_email_outbox_hook(*, message, event: str, facts: dict[str, Any]) -> None:
    """Told by the outbox (in its transaction) what became of an order email."""
    from keys.services import key_views_record_email

    email = (
        OrderEmail.objects.select_for_update(of=("self",))
        .select_related("order")
        .get(pk=message.context["order_email_id"])
    )
    email.attempts = message.attempts
    if event != "accepted":
        email.status = OrderEmailStatus.FAILED
        email.last_error = message.last_error
        email.next_attempt_at = message.next_attempt_at
        email.save(update_fields=["status", "attempts", "last_error", "next_attempt_at"])
        return
    email.status = OrderEmailStatus.SENT
    email.sent_at = message.sent_at
    email.last_error = ""
    email.save(update_fields=["status", "attempts", "last_error", "sent_at"])
    # The codes reached a mail server: only now is the email channel's view audited.
    if facts.get("key_ids"):
        key_views_record_email(key_ids=facts["key_ids"], guest_email=email.order.email)
    order_event_add(order=email.order, kind=OrderEventKind.EMAIL, reason=f"{email.kind} email sent")


def _email_context(
    *, order: Order, kind: str, lines: list | None = None, keys: list | None = None
) -> dict[str, Any]:
    """What the order email templates show. ``lines`` (with their products) and the
    order's delivered ``keys`` may be handed over by a caller that just read them."""
    base = settings.SITE_URL.rstrip("/")
    context: dict[str, Any] = {
        "order": order,
        "kind": kind,
        "consents": list(order.consents.all()),
        "account_url": base + reverse("accounts:dashboard"),
        "tracking_url": base + reverse("orders:track"),
        "order_url": base + reverse("orders:detail", kwargs={"number": order.number}),
        "lines": [],
        "key_ids": [],
        "tax_rate": max((line.tax_rate for line in order.lines.all()), default=Decimal("0")),
    }
    amounts = {
        line.pk: {"quantity": line.quantity, "discount": line.discount_amount,
                  "total": line.line_total}
        for line in order.lines.all()
    }  # fmt: skip
    if kind in (OrderEmailKind.DELIVERY, OrderEmailKind.RESEND):
        from keys.services import key_codes_for_order_email

        codes_by_line: dict[int, list[str]] = {}
        for key, code in key_codes_for_order_email(order_id=order.pk, keys=keys):
            codes_by_line.setdefault(key.order_line_id, []).append(code)
            context["key_ids"].append(key.pk)
        if lines is None:
            lines = list(order.lines.select_related("product").order_by("id"))
        for line in lines:
            context["lines"].append(
                {
                    "name": line.product_name,
                    "codes": codes_by_line.get(line.pk, []),
                    "activation": line.product.activation_instructions,
                    **amounts[line.pk],
                }
            )
    else:
        context["lines"] = [
            {"name": line.product_name, "codes": [], "activation": "", **amounts[line.pk]}
            for line in order.lines.order_by("id")
        ]
    return context


def order_track_lookup(*, number: str, email: str, ip: str | None) -> Order | None:
    """The order a tracking lookup (number + billing email) opens, or None.

    Only failed lookups count, and they count against the client's IP: a visitor who has
    failed ``TRACK_PER_IP`` times in the window is refused (RateLimited) until it ends.
    Nothing is counted per order, so someone guessing at an order cannot lock its owner out.
    """
    from .selectors import order_get_for_tracking

    limit = {
        "scope": "track-ip-failures",
        "key": ip or "-",
        "limit": orders_setting("TRACK_PER_IP"),
        "window_seconds": orders_setting("TRACK_WINDOW_SECONDS"),
    }
    if not ratelimit_check(**limit):
        raise RateLimited(_("Too many attempts. Please wait a few minutes and try again."))
    order = order_get_for_tracking(number=number, email=email)
    if order is None:
        ratelimit_hit(**limit)
    return order


def order_email_resend(*, order: Order, actor: Any = None, staff: bool = False) -> OrderEmail:
    """Send the key email again, rate-limited per order (staff have their own, larger cap)."""
    if order.status not in (S.DELIVERED, S.PARTIALLY_REFUNDED, S.DISPUTED):
        raise OrderError(_("The keys of this order have not been delivered yet."))
    if staff:
        limit = orders_setting("STAFF_RESEND_PER_HOUR")
        if not ratelimit_hit(
            scope="resend-staff", key=str(order.pk), limit=limit, window_seconds=3600
        ):
            raise RateLimited(
                _(
                    "Staff already sent this order's keys %(limit)d times in the last hour; "
                    "try again later."
                )
                % {"limit": limit}
            )
    elif not ratelimit_hit(
        scope="resend",
        key=str(order.pk),
        limit=orders_setting("RESEND_PER_HOUR"),
        window_seconds=3600,
    ):
        raise RateLimited(_("The email was sent several times recently. Try again in an hour."))
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        email = _order_email_create(order=locked, kind=OrderEmailKind.RESEND, actor=actor)
        order_event_add(
            order=locked,
            kind=OrderEventKind.EMAIL,
            actor=actor,
            reason="key email re-send requested" + (" by staff" if staff else ""),
        )
    return email


# --- cancellation and refunds -----------------------------------------------------------------


def order_cancel(*, order: Order, actor: Any = None, reason: str) -> Order:
    """Cancel an order that is not delivered; refund it in full if it was paid."""
    from keys.services import key_revoke_for_order

    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status == S.CANCELLED:
            was_paid = locked.paid_at is not None
        else:
            if locked.status not in CANCELLABLE_STATES:
                raise OrderError(_("This order has been delivered and cannot be cancelled."))
            was_paid = locked.status in PAID_STATES
            # Reserved keys never shown go back to stock (anything shown is revoked).
            key_revoke_for_order(order=locked, actor=actor, reason=f"order cancelled: {reason}")
            order_transition(order=locked, to_status=S.CANCELLED, actor=actor, reason=reason)
            if was_paid:
                # queued after the refund below (the email says it was refunded)
                _order_email_create(order=locked, kind=OrderEmailKind.CANCELLED, enqueue=False)
    if was_paid:
        order_refund(order=locked, reason="cancelled", actor=actor, revoke_keys=False)
        email = OrderEmail.objects.filter(order=locked, kind=OrderEmailKind.CANCELLED).first()
        if email is not None and email.status != OrderEmailStatus.SENT:
            _order_email_enqueue(email=email)
    return locked


def order_cancel_request(*, order: Order, actor: Any = None) -> Order:
    """A customer asks to cancel: the policy decides (cancel_request); refused after delivery."""
    decision = _cancel_decision(order=order)
    if decision is not None and decision.outcome != "cancel":
        raise CancellationRefused(decision.explanation, decision.clause, _clause_url(decision))
    if decision is None and order.status not in (S.ON_HOLD, S.BACKORDERED, S.PENDING, S.FAILED):
        raise CancellationRefused(_("This order has been delivered and cannot be cancelled."))
    if order.status not in CANCELLABLE_STATES:
        raise CancellationRefused(_("This order has been delivered and cannot be cancelled."))
    return order_cancel(order=order, actor=actor, reason="cancelled at the customer's request")


def _cancel_decision(*, order: Order):
    preset = _preset_active()
    if preset is None:
        return None
    from policies.engine import ClaimCase, claim_decide

    now = timezone.now()
    case = ClaimCase(
        now=now,
        purchased_at=order.paid_at or order.created_at,
        delivered_at=order.delivered_at,
        first_viewed_at=None,
        activated=False,
        reason="cancel_request",
        failed_at=None,
        verification="pending",
        replacements_given=0,
        replacement_in_stock=True,
        support_exhausted=False,
    )
    return claim_decide(case=case, preset=preset)


def _clause_url(decision) -> str:
    from policies.selectors import clause_url

    return clause_url(clause_id=decision.clause)


def order_refund(
    *,
    order: Order,
    amount: Decimal | None = None,
    reason: str,
    actor: Any = None,
    revoke_keys: bool = True,
    reference: str = "",
) -> Refund:
    """One idempotent refund through the order's gateway.

    The same (order, reason, reference) always means the same refund: calling again
    retries a failed attempt with the same idempotency key and never refunds twice.
    ``amount`` None refunds whatever is left. The gateway is called outside any
    transaction; its answer is recorded afterwards under the order lock.
    """
    _require_no_transaction("order_refund")
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        refund = Refund.objects.filter(order=locked, reason=reason, reference=reference).first()
        if refund is None:
            if locked.paid_at is None:
                raise OrderError(_("This order was never paid: there is nothing to refund."))
            from .selectors import order_refundable_amount

            left = order_refundable_amount(order=locked)
            amount = left if amount is None else Decimal(amount)
            if amount <= 0 or amount > left:
                raise OrderError(
                    _("A refund must be more than zero and at most %(left)s %(currency)s.")
                    % {"left": left, "currency": locked.currency}
                )
            refund = Refund.objects.create(
                order=locked,
                amount=amount,
                currency=locked.currency,
                reason=reason[:64],
                reference=reference[:64],
                idempotency_key=f"refund-{locked.pk}-{reason[:64]}-{reference[:64]}",
                gateway=locked.gateway,
                revoke_keys=revoke_keys,
                actor=actor if getattr(actor, "pk", None) else None,
            )
            order_event_add(
                order=locked,
                kind=OrderEventKind.REFUND,
                actor=actor,
                reason=f"refund of {amount} {locked.currency} requested ({reason})",
            )
        if refund.status in (RefundStatus.SUCCEEDED, RefundStatus.CANCELED):
            return refund
        if refund.status == RefundStatus.PENDING and refund.gateway_refund_id:
            return refund  # the gateway has it; its webhook finishes the job
    try:
        answer = gateway_get(name=locked.gateway).refund_create(
            order=locked,
            amount=refund.amount,
            idempotency_key=refund.idempotency_key,
            refund_id=refund.pk,
        )
    except GatewayError as exc:
        with transaction.atomic():
            row = Refund.objects.select_for_update().get(pk=refund.pk)
            row.attempts += 1
            row.status = RefundStatus.FAILED
            row.error = str(exc)[:2000]
            row.save(update_fields=["attempts", "status", "error", "updated_at"])
        logger.warning("refund %s for order %s failed: %s", refund.pk, locked.number, exc)
        return row
    return refund_gateway_update(
        refund_id=refund.pk, gateway_refund_id=answer.id, status=answer.status, attempt=True
    )


def refund_gateway_update(
    *, refund_id: int, gateway_refund_id: str, status: str, attempt: bool = False
) -> Refund:
    """Record the gateway's answer (API call or webhook) for one refund; idempotent."""
    with transaction.atomic():
        refund = Refund.objects.select_related("order").get(pk=refund_id)
        order = Order.objects.select_for_update().get(pk=refund.order_id)
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        fields = ["updated_at"]
        if attempt:
            refund.attempts += 1
            fields.append("attempts")
        if gateway_refund_id and refund.gateway_refund_id != gateway_refund_id:
            refund.gateway_refund_id = gateway_refund_id
            fields.append("gateway_refund_id")
        if refund.status == RefundStatus.SUCCEEDED:
            refund.save(update_fields=fields)
            return refund
        new_status = {
            "succeeded": RefundStatus.SUCCEEDED,
            "failed": RefundStatus.FAILED,
            "canceled": RefundStatus.CANCELED,
        }.get(status, RefundStatus.PENDING)
        refund.status = new_status
        refund.error = "" if new_status != RefundStatus.FAILED else "refused by the gateway"
        fields += ["status", "error"]
        refund.save(update_fields=fields)
        if new_status == RefundStatus.SUCCEEDED:
            _refund_apply(order=order, refund=refund)
            hooks_run_on_commit(registry=refund_succeeded_hooks, refund_id=refund.pk)
        return refund


def _refund_apply(*, order: Order, refund: Refund) -> None:
    """Inside the order lock: count a succeeded refund on the order and move its status."""
    order.refunded_total = min(order.total, order.refunded_total + refund.amount)
    order.save(update_fields=["refunded_total"])
    order_event_add(
        order=order,
        kind=OrderEventKind.REFUND,
        actor=refund.actor,
        reason=f"refund of {refund.amount} {refund.currency} succeeded ({refund.reason})",
    )
    full = order.refunded_total >= order.total
    cancelled = False
    if order.status in (S.DELIVERED, S.PARTIALLY_REFUNDED, S.DISPUTED):
        target = S.REFUNDED if full else S.PARTIALLY_REFUNDED
        if target != order.status:
            order_transition(order=order, to_status=target, reason=f"refund ({refund.reason})")
    elif order.status in (S.PAID, S.ON_HOLD, S.BACKORDERED) and full:
        order_transition(order=order, to_status=S.CANCELLED, reason="refunded before delivery")
        cancelled = True
    order_webhook_emit(
        order=order,
        event="order.refunded",
        dedupe_key=f"order.refunded:refund:{refund.pk}",
        extra={
            "refund": {
                "id": refund.pk,
                "amount": str(refund.amount),
                "currency": refund.currency,
                "reason": refund.reason,
                "full": full,
            }
        },
    )
    external = refund.reason == EXTERNAL_REFUND_REASON
    # Keys go with the money: when the refund asks for it, when every cent went back
    # (whoever refunded it), and when the order was cancelled before delivery (reserved
    # keys nobody saw return to stock; anything shown is revoked).
    if refund.revoke_keys or cancelled or (external and full):
        from keys.services import key_revoke_for_order

        key_revoke_for_order(order=order, actor=refund.actor, reason=f"refunded ({refund.reason})")
    elif external:
        _refund_external_partial_alert(order=order, refund=refund)


def _refund_external_partial_alert(*, order: Order, refund: Refund) -> None:
    """A part of the payment was refunded outside the shop: which keys it pays back is a
    staff decision, so nothing is revoked and staff are told (after commit)."""
    from keys.selectors import keys_for_order

    keys = [
        f"#{key.pk} {key.masked} ({key.status})"
        for key in keys_for_order(order=order.pk).filter(status__in=("delivered", "reserved"))
    ]
    order_event_add(
        order=order,
        kind=OrderEventKind.REFUND,
        reason=f"partial refund of {refund.amount} {refund.currency} made outside the shop: "
        "staff choose which keys to revoke",
    )
    subject = f"Order {order.number}: partial refund made outside the shop"
    body = (
        f"{refund.amount} {refund.currency} of order {order.number} "
        f"({order.total} {order.currency}) was refunded outside the shop "
        f"(gateway refund {refund.gateway_refund_id or '-'}).\n"
        "No key was revoked. Choose which keys this refund pays back and revoke them:\n"
        + ("\n".join(keys) or "(no key is held by this order)")
    )
    _staff_alert(
        kind="refund_outside_shop",
        subject=subject,
        body=body,
        dedupe_key=f"order:{order.pk}:partial-refund:{refund.pk}",
    )


# --- webhooks ---------------------------------------------------------------------------------


# The reason recorded for a refund made at the gateway without us (the Stripe dashboard).
EXTERNAL_REFUND_REASON = "gateway"


class WebhookRejected(Exception):
    """Signature, header or timestamp invalid: answer 400 and store nothing."""


class WebhookMalformed(Exception):
    """Correctly signed, but not the shape of an event: stored as rejected, answered 400."""

    def __init__(self, message: str, event: WebhookEvent) -> None:
        super().__init__(message)
        self.event = event


class EventNotReady(Exception):
    """The event refers to something an earlier event has not created yet."""

    def __init__(self, message: str, order: Order | None = None) -> None:
        super().__init__(message)
        self.order = order


def _webhook_signature_verify(*, raw_body: bytes, signature: str) -> None:
    """Stripe's own check (HMAC over ``t.body``, too old refused), and a timestamp more
    than the tolerance in the future refused too: a signature minted ahead of time would
    otherwise stay valid until that moment has passed."""
    import time

    import stripe

    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret or not signature:
        raise WebhookRejected("missing signature or secret")
    tolerance = orders_setting("WEBHOOK_TOLERANCE_SECONDS")
    try:
        stripe.WebhookSignature.verify_header(raw_body, signature, secret, tolerance=tolerance)
        timestamp = next(
            int(value)
            for name, _sep, value in (item.partition("=") for item in signature.split(","))
            if name.strip() == "t"
        )
    except (ValueError, StopIteration, stripe.SignatureVerificationError) as exc:
        raise WebhookRejected(str(exc)) from exc
    if timestamp > time.time() + tolerance:
        raise WebhookRejected(f"timestamp {timestamp} is in the future")


def _webhook_shape_problem(payload: Any) -> str:
    """Why ``payload`` is not a Stripe event object; "" when it is one."""
    if not isinstance(payload, dict):
        return f"the body is a JSON {type(payload).__name__}, not an object"
    for name in ("id", "type"):
        if not isinstance(payload.get(name), str) or not payload[name].strip():
            return f"{name!r} is missing or not a string"
    data = payload.get("data")
    if not isinstance(data, dict):
        return "'data' is not an object"
    if not isinstance(data.get("object"), dict):
        return "'data.object' is not an object"
    if payload.get("created") is not None and not isinstance(payload["created"], int):
        return "'created' is not an integer"
    return ""


MALFORMED_BODY_KEPT_CHARS = 20_000


def stripe_webhook_receive(*, raw_body: bytes, signature: str, received_at: datetime):
    """Verify the signature against the raw body, then store the event once.

    Raises WebhookRejected (nothing stored) for a bad signature or timestamp, and
    WebhookMalformed (stored once, status rejected) for a signed body that is not an event.
    """
    import hashlib
    import json

    _webhook_signature_verify(raw_body=raw_body, signature=signature)
    try:
        payload: Any = json.loads(raw_body)
    except (ValueError, RecursionError):
        payload, problem = None, "the body is not JSON"
    else:
        problem = _webhook_shape_problem(payload)
    if problem:  # kept as received (cut), for staff to read
        body = raw_body.decode("utf-8", "replace")[:MALFORMED_BODY_KEPT_CHARS]
        event_id = payload.get("id") if isinstance(payload, dict) else None
        if not isinstance(event_id, str) or not event_id.strip():
            event_id = f"malformed:{hashlib.sha256(raw_body).hexdigest()}"
        event_type = payload.get("type") if isinstance(payload, dict) else None
        event, _created = WebhookEvent.objects.get_or_create(
            event_id=event_id[:255],
            defaults={
                "gateway": "stripe",
                "type": event_type[:100] if isinstance(event_type, str) else "",
                "payload": {"malformed_body": body},
                "received_at": received_at,
                "status": WebhookEventStatus.REJECTED,
                "error": f"malformed event: {problem}",
                "processed_at": received_at,
            },
        )
        raise WebhookMalformed(problem, event)
    created = payload.get("created")
    event_id = payload["id"][:255]
    row = WebhookEvent(
        event_id=event_id,
        gateway="stripe",
        type=payload["type"][:100],
        payload=payload,
        received_at=received_at,
        created_at_gateway=(
            datetime.fromtimestamp(created, tz=UTC) if isinstance(created, int) else None
        ),
    )
    # One INSERT for a new event (the usual case); the unique event id turns a gateway
    # retry into a read of the row stored the first time.
    try:
        if transaction.get_connection().in_atomic_block:
            with transaction.atomic():
                row.save(force_insert=True)
        else:
            row.save(force_insert=True)
    except IntegrityError:
        return WebhookEvent.objects.get(event_id=event_id)
    return row


FINAL_EVENT_STATES = frozenset(
    {WebhookEventStatus.PROCESSED, WebhookEventStatus.IGNORED, WebhookEventStatus.REJECTED}
)


def webhook_event_enqueue(*, event: WebhookEvent) -> str:
    """Hand a stored event to the task queue; returns "queued", or the status of an event
    already processed (a gateway retry of one: nothing to do). Raises when the broker
    cannot take it (the caller answers an error so the gateway sends it again; the
    sweeper also picks up events left received)."""
    if event.status in (WebhookEventStatus.PROCESSED, WebhookEventStatus.REJECTED):
        return event.status
    from . import tasks

    tasks.orders_webhook_process.delay(event.pk)
    return "queued"


def webhook_event_process(*, event_pk: int, replay: bool = False) -> str:
    """Process a stored event exactly once (row lock on the event); returns its new status."""
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event_pk)
        if _webhook_shape_problem(event.payload):  # stored rejected on receipt; never dispatched
            return event.status
        if not event.type.startswith("charge.dispute."):
            return _stripe_event_process_locked(event=event, replay=replay)
    return _dispute_event_process(event=event, replay=replay)  # may call Stripe: outside


def _stripe_event_process_locked(*, event: WebhookEvent, replay: bool) -> str:
    if event.status in FINAL_EVENT_STATES and not replay:
        return event.status
    event.attempts += 1
    status, error, order = WebhookEventStatus.PROCESSED, "", None
    try:
        with transaction.atomic():
            status, order = _stripe_event_dispatch(event=event)
    except EventNotReady as exc:
        status, error, order = WebhookEventStatus.DEFERRED, str(exc), exc.order
    except Exception as exc:
        logger.exception("webhook event %s failed", event.event_id)
        status, error = WebhookEventStatus.FAILED, f"{type(exc).__name__}: {exc}"
    event.status = status
    event.error = error[:2000]
    fields = ["status", "error", "attempts"]
    if order is not None:
        event.order = order
        fields.append("order")
    if status in FINAL_EVENT_STATES:
        event.processed_at = timezone.now()
        fields.append("processed_at")
    event.save(update_fields=fields)
    return status


def _dispute_event_process(*, event: WebhookEvent, replay: bool) -> str:
    if event.status in FINAL_EVENT_STATES and not (replay or event.status == "ignored"):
        return event.status
    from refunds.services import DisputeOrderUnknown, dispute_event_handle

    try:
        dispute_event_handle(event=event.payload)  # may call Stripe: outside our transaction
    except DisputeOrderUnknown as exc:  # the payment's own events come later: retry then
        _event_status_set(
            event=event, status=WebhookEventStatus.DEFERRED, error=str(exc), order=exc.order
        )
        return WebhookEventStatus.DEFERRED
    except Exception as exc:
        logger.exception("dispute event %s failed", event.event_id)
        _event_status_set(event=event, status=WebhookEventStatus.FAILED, error=repr(exc))
        return WebhookEventStatus.FAILED
    _event_status_set(event=event, status=WebhookEventStatus.PROCESSED, error="")
    return WebhookEventStatus.PROCESSED


def _event_status_set(
    *, event: WebhookEvent, status: str, error: str, order: Order | None = None
) -> None:
    """Record a dispute event's outcome; a waiting event is linked to the order it names,
    so that order's payment replays it at once (order_payment_confirm)."""
    with transaction.atomic():
        row = WebhookEvent.objects.select_for_update().get(pk=event.pk)
        row.status = status
        row.error = error[:2000]
        row.attempts += 1
        row.processed_at = timezone.now() if status in FINAL_EVENT_STATES else None
        fields = ["status", "error", "attempts", "processed_at"]
        if order is not None and row.order_id is None:
            row.order = order
            fields.append("order")
        row.save(update_fields=fields)


def _order_for_object(obj: dict) -> Order | None:
    metadata = obj.get("metadata") or {}
    order_id = metadata.get("order_id") or obj.get("client_reference_id")
    if order_id:
        order = Order.objects.filter(pk=_uuid_or_none(order_id)).first()
        if order is not None:
            return order
    if obj.get("object") == "checkout.session" and obj.get("id"):
        return Order.objects.filter(gateway="stripe", gateway_session_id=obj["id"]).first()
    intent = obj.get("payment_intent")
    intent_id = intent.get("id") if isinstance(intent, dict) else intent
    if intent_id:
        return Order.objects.filter(gateway="stripe", gateway_payment_id=intent_id).first()
    return None


def _uuid_or_none(value: str):
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _stripe_event_dispatch(*, event: WebhookEvent) -> tuple[str, Order | None]:
    obj = (event.payload.get("data") or {}).get("object") or {}
    kind = event.type
    order = _order_for_object(obj)
    if kind in (
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
    ):
        if order is None:
            return WebhookEventStatus.IGNORED, None
        return _session_event_apply(kind=kind, session=obj, order=order), order
    if kind in ("charge.refunded", "charge.refund.updated", "refund.updated", "refund.created",
                "refund.failed"):  # fmt: skip
        if order is None:
            return WebhookEventStatus.IGNORED, None
        return _refund_event_apply(kind=kind, obj=obj, order=order), order
    return WebhookEventStatus.IGNORED, order


def _session_event_apply(*, kind: str, session: dict, order: Order) -> str:
    if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        if session.get("payment_status") != "paid":
            order_event_add(
                order=order, kind=OrderEventKind.PAYMENT, reason=f"{kind}: payment not settled yet"
            )
            return WebhookEventStatus.PROCESSED
        intent = session.get("payment_intent")
        result = order_payment_confirm(
            order_id=order.pk,
            amount_minor=int(session.get("amount_total") or 0),
            currency=str(session.get("currency") or ""),
            payment_id=intent.get("id", "") if isinstance(intent, dict) else (intent or ""),
            source=kind,
        )
        return WebhookEventStatus.REJECTED if result.problem else WebhookEventStatus.PROCESSED
    target = S.FAILED if kind == "checkout.session.async_payment_failed" else S.EXPIRED
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if locked.status in PAID_STATES or locked.status == S.CANCELLED:
        order_event_add(
            order=locked,
            kind=OrderEventKind.NOTE,
            reason=f"{kind} ignored: already {locked.status}",
        )
        return WebhookEventStatus.IGNORED
    if target not in ALLOWED_TRANSITIONS.get(locked.status, frozenset()):
        return WebhookEventStatus.IGNORED
    order_transition(order=locked, to_status=target, reason=kind)
    return WebhookEventStatus.PROCESSED


def _refund_event_apply(*, kind: str, obj: dict, order: Order) -> str:
    if order.paid_at is None:
        raise EventNotReady(f"order {order.number} is not paid yet", order=order)
    if obj.get("object") == "charge":
        refunds = ((obj.get("refunds") or {}).get("data")) or []
    else:
        refunds = [obj]
    for item in refunds:
        _refund_object_apply(order=order, item=item)
    return WebhookEventStatus.PROCESSED


def _refund_object_apply(*, order: Order, item: dict) -> None:
    refund_gateway_id = item.get("id") or ""
    metadata = item.get("metadata") or {}
    refund = None
    if metadata.get("refund_id", "").isdigit():
        refund = Refund.objects.filter(order=order, pk=int(metadata["refund_id"])).first()
    if refund is None and refund_gateway_id:
        refund = Refund.objects.filter(
            gateway=order.gateway, gateway_refund_id=refund_gateway_id
        ).first()
    if refund is None:
        # Made outside the shop (e.g. the Stripe dashboard): record it so totals agree;
        # applying it decides what happens to the keys (_refund_apply).
        amount = money_from_minor_units(
            minor=item.get("amount"), currency=str(item.get("currency") or order.currency)
        )
        if amount <= 0:
            return
        refund, _created = Refund.objects.get_or_create(
            order=order,
            reason=EXTERNAL_REFUND_REASON,
            reference=refund_gateway_id[:64],
            defaults={
                "amount": min(amount, order.total),
                "currency": order.currency,
                "idempotency_key": f"refund-{order.pk}-gateway-{refund_gateway_id[:64]}",
                "gateway": order.gateway,
                "gateway_refund_id": refund_gateway_id,
                "revoke_keys": False,
            },
        )
    refund_gateway_update(
        refund_id=refund.pk, gateway_refund_id=refund_gateway_id, status=item.get("status", "")
    )


def webhook_events_replay_deferred(*, order_id: Any = None, limit: int = 200) -> int:
    """Re-process deferred / failed events (for one order, or all), oldest first."""
    qs = WebhookEvent.objects.filter(
        status__in=[WebhookEventStatus.DEFERRED, WebhookEventStatus.FAILED], attempts__lt=20
    )
    if order_id is not None:
        qs = qs.filter(order_id=order_id)
    count = 0
    for pk in qs.order_by("received_at").values_list("pk", flat=True)[:limit]:
        webhook_event_process(event_pk=pk)
        count += 1
    return count


def webhook_event_replay(*, event: WebhookEvent) -> str:
    """Staff replay of one stored event (e.g. a dispute that arrived before refunds/ existed)."""
    return webhook_event_process(event_pk=event.pk, replay=event.status != "processed")


# --- periodic jobs ----------------------------------------------------------------------------


def _staff_alert(*, kind: str, subject: str, body: str, dedupe_key: str | None = None) -> None:
    """Alert staff through the outbox (inside the caller's transaction; one digest per
    burst of alerts of a kind)."""
    from core.outbox import staff_alert_enqueue

    staff_alert_enqueue(kind=kind, subject=subject, body=body, dedupe_key=dedupe_key)


@dataclass
class SweepResult:
    deliveries: int = 0
    emails: int = 0
    events: int = 0
    refunds: int = 0


def orders_sweep_undelivered(*, grace_seconds: int | None = None) -> SweepResult:
    """Re-drive everything paid and not delivered, unsent emails, events and refunds."""
    from . import tasks

    grace = orders_setting("SWEEP_GRACE_SECONDS") if grace_seconds is None else grace_seconds
    cutoff = timezone.now() - timedelta(seconds=grace)
    result = SweepResult()
    due = Order.objects.filter(
        Q(status__in=[S.PAID, S.BACKORDERED], paid_at__lte=cutoff)
        | Q(status=S.ON_HOLD, risk__released_at__isnull=False)
    )
    for pk in due.values_list("pk", flat=True)[:500]:
        tasks.orders_deliver.delay(str(pk))
        result.deliveries += 1
    # Retries are the outbox's (core.tasks.outbox_sweep); here only an email row whose
    # outbox message was never written (a crash between cancel and refund) gets one.
    unsent = _order_emails_without_message().filter(created_at__lte=cutoff)
    for email in unsent.select_related("order").order_by("id")[:500]:
        _order_email_enqueue(email=email)
        result.emails += 1
    result.events = webhook_events_replay_deferred()
    # events stored by the web process whose task never ran (the broker lost it)
    received = WebhookEvent.objects.filter(
        status=WebhookEventStatus.RECEIVED, received_at__lte=cutoff
    )
    for pk in received.order_by("received_at").values_list("pk", flat=True)[:500]:
        tasks.orders_webhook_process.delay(pk)
        result.events += 1
    for refund in Refund.objects.filter(
        status__in=[RefundStatus.FAILED, RefundStatus.PENDING],
        gateway_refund_id="",
        updated_at__lte=cutoff,
        attempts__lt=10,
    ).select_related("order")[:100]:
        order_refund(order=refund.order, reason=refund.reason, reference=refund.reference)
        result.refunds += 1
    return result


def orders_alert_stale_holds() -> int:
    """Alert staff once about each hold older than the configured time."""
    from .selectors import fraud_settings_get

    minutes = fraud_settings_get().stale_hold_minutes
    cutoff = timezone.now() - timedelta(minutes=minutes)
    stale = list(
        OrderRisk.objects.filter(
            order__status=S.ON_HOLD,
            held_at__lte=cutoff,
            released_at__isnull=True,
            stale_alerted_at__isnull=True,
        ).select_related("order")
    )
    if not stale:
        return 0
    body = "\n".join(
        f"{risk.order.number}  held since {risk.held_at:%Y-%m-%d %H:%M} UTC: "
        + "; ".join(risk.hold_reasons)
        for risk in stale
    )
    with transaction.atomic():  # the alert is written with the marks, or neither
        OrderRisk.objects.filter(pk__in=[r.pk for r in stale]).update(
            stale_alerted_at=timezone.now()
        )
        _staff_alert(
            kind="stale_hold",
            subject=f"{len(stale)} order(s) on security hold for more than {minutes} minutes",
            body=body + "\n\nRelease or cancel them in the admin.",
        )
    return len(stale)


def orders_refund_overdue_backorders() -> int:
    """Refund every backorder past its non-delivery deadline (the policy's clause)."""
    overdue = Order.objects.filter(
        status=S.BACKORDERED, backorder__deadline__lte=timezone.now()
    ).values_list("pk", flat=True)
    count = 0
    for pk in list(overdue[:200]):
        order = Order.objects.get(pk=pk)
        try:
            order_cancel(order=order, reason="not delivered before the non-delivery deadline")
        except OrderError:
            continue  # delivered meanwhile
        count += 1
    return count
