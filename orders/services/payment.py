"""Payment confirmation: the first confirmation makes an order paid and schedules its
delivery; the success page, the test gateway and the webhook all come through here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from core.money import money_to_minor_units
from core.prepared import row_update

from .. import tasks
from ..gateways import gateway_get, test_card_country, test_card_fingerprint, test_card_outcome
from ..hooks import hooks_run_on_commit, order_paid_hooks
from ..models import (
    Order,
    OrderEventKind,
    OrderRisk,
)
from ._common import _staff_alert
from ._prepared import EVENTS_DEFERRED
from .errors import OrderError
from .transitions import PAID_STATES, UNPAID_STATES, S, _order_transition_locked, order_event_add

# --- payment confirmation ---------------------------------------------------------------------


# Set by a task that delivers the orders it confirms itself, right after its transaction
# commits (orders.tasks.webhook_event_process_task): one task per paid order instead of two.
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
    tasks.order_deliver_task.delay_on_commit(order_id)
    if replay_deferred:
        tasks.webhook_events_replay_deferred_task.delay_on_commit(order_id)


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
    locked: Order | None = None,
) -> PaymentConfirmation:
    """Record that the gateway took the money for ``order_id``: idempotent, row-locked.

    Only the first confirmation moves the order to paid and enqueues its processing
    (fraud check then delivery); later ones (webhook retries, the success page racing the
    webhook) change nothing. A wrong amount or currency, or money for an order cancelled
    before payment, leaves the order unpaid and alerts staff (``problem`` is set).

    ``locked``: the order row as the caller's transaction just read it with
    ``select_for_update`` (the webhook); it is not read again, and this runs as part of
    the caller's transaction (no savepoint of its own: an error rolls the caller back).
    """
    with transaction.atomic(savepoint=locked is None):
        order = locked if locked is not None else Order.objects.select_for_update().get(pk=order_id)
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
            order_event_add(
                order=order,
                kind=OrderEventKind.AMOUNT_MISMATCH,
                reason=problem,
                data={
                    "source": source,
                    "payment_id": payment_id,
                    "amount_minor": amount_minor,
                    "currency": currency.upper(),
                    "expected_minor": expected,
                    "expected_currency": order.currency.upper(),
                },
            )
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
                row_update(obj=risk, fields=fields)
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
        replay = bool(EVENTS_DEFERRED.fetch_values(order_id=order.pk))
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
        order_event_add(
            order=order,
            kind=OrderEventKind.LOCATION,
            reason=reason,
            data={"billing_country": order.billing_country, "card_country": country},
        )
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
    order = Order.objects.get(gateway="test", gateway_session_id=session_id)
    outcome = test_card_outcome(number=card_number)
    if outcome in ("decline", "unknown"):
        with transaction.atomic():
            locked = Order.objects.select_for_update().get(pk=order.pk)
            order_event_add(
                order=locked,
                kind=OrderEventKind.PAYMENT,
                reason="test card declined" if outcome == "decline" else "unknown test card",
                data={"outcome": outcome},
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
