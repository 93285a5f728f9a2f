"""Delivery of a paid order: fraud check, then hold, backorder or keys delivered."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.prepared import row_insert, row_update
from keys.services import key_allocate
from policies.selectors import preset_active_get

from ..conf import orders_setting
from ..hooks import order_delivery_hooks
from ..models import (
    BackorderInfo,
    Order,
    OrderEmail,
    OrderEmailKind,
    OrderEmailStatus,
    OrderEvent,
    OrderEventKind,
    OrderRisk,
)
from ..selectors import fraud_check
from ._common import _staff_alert
from ._prepared import order_lines_locked, order_locked_get
from .emails import _order_email_create, _order_email_enqueue
from .fraud import _keys_reserve, _order_risk_facts_fetch
from .payment import order_card_country_record
from .transitions import S, _order_transition_locked, order_transition

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

    with transaction.atomic():
        locked = order_locked_get(pk=order_id, with_risk=True)
        if locked is None:
            raise Order.DoesNotExist(f"no order {order_id}")
        order = locked
        # Every writer of an order's risk row holds the order's lock: no race on creating
        # it, and it is read with the order (one statement; see _prepared.ORDER_LOCKED_WITH_RISK).
        existing: OrderRisk | None = getattr(order, "risk", None)
        risk_new = existing is None
        risk = OrderRisk(order=order) if existing is None else existing
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
                    data={"hold": verdict.hold, "reasons": list(verdict.reasons)},
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
                _keys_reserve(order=order)
                email = _order_email_create(order=order, kind=OrderEmailKind.HOLD, schedule=False)
                _delivery_hooks_run(order=order, lines=None, events=events)  # the last lock
                OrderEvent.objects.bulk_create(events)
                return DeliveryOutcome(status="held", email_ids=[email.pk] if email else [])
        _risk_save(risk=risk, new=risk_new, fields=risk_fields)
        if order.status == S.ON_HOLD and risk.released_at is None:
            _delivery_hooks_run(order=order, lines=None, events=events)
            OrderEvent.objects.bulk_create(events)
            return DeliveryOutcome(status="held")
        if order.status not in (S.PAID, S.ON_HOLD, S.BACKORDERED):
            OrderEvent.objects.bulk_create(events)
            return DeliveryOutcome(status="skipped")
        return _order_keys_deliver(order=order, events=events)


def _delivery_hooks_run(
    *, order: Order, lines: list | None, events: list[OrderEvent]
) -> dict[str, Any]:
    """The apps' hooks on this delivery run (``orders.hooks.order_delivery_hooks``, e.g.
    the invoice), inside its transaction, after its other locks; what they hand over."""
    handed: dict[str, Any] = {}
    for hook in list(order_delivery_hooks):
        handed.update(hook(order=order, lines=lines, events=events) or {})
    return handed


def _risk_save(*, risk: OrderRisk, new: bool, fields: list[str]) -> None:
    if new:
        row_insert(obj=risk)
    elif fields:
        row_update(obj=risk, fields=fields)


def _order_keys_deliver(*, order: Order, events: list[OrderEvent] | None = None) -> DeliveryOutcome:
    """Inside the order lock: give every line its keys, all or nothing, then deliver.
    ``events`` (order events of this run not written yet) go in with the delivery's own."""
    events = [] if events is None else events
    shortfall: dict[int, int] = {}
    lines = order_lines_locked(order=order)
    # One line is all or nothing by itself (key_allocate changes nothing when short);
    # several are together: a shortfall on one undoes the keys the others got.
    savepoint = transaction.savepoint() if len(lines) > 1 else None
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
        if savepoint is not None:
            transaction.savepoint_rollback(savepoint)
        OrderEvent.objects.bulk_create(events)
        outcome = _order_backorder(order=order, shortfall=shortfall)
        later: list[OrderEvent] = []
        _delivery_hooks_run(order=order, lines=lines, events=later)  # the last lock
        OrderEvent.objects.bulk_create(later)
        return outcome
    if savepoint is not None:
        transaction.savepoint_commit(savepoint)
    _order_transition_locked(
        locked=order, to_status=S.DELIVERED, reason="keys delivered", events=events
    )
    # Delivered happens once, in this transaction: its email row cannot exist yet, nor its
    # outbox message, which is created leased to this worker: it sends it right after commit.
    email = OrderEmail(order=order, kind=OrderEmailKind.DELIVERY)
    row_insert(obj=email)
    message = _order_email_enqueue(email=email, schedule=False, lease=True)
    # The last lock (the invoice series row, held by every delivery until its commit): only
    # the invoice and the order events are written after it.
    handed = _delivery_hooks_run(order=order, lines=lines, events=events)
    OrderEvent.objects.bulk_create(events)
    # what the renderer would read again, handed over in memory (never stored)
    message.prefetched = {"email": email, "lines": lines, "keys": keys, **handed}
    return DeliveryOutcome(status="delivered", leased_messages=[message])


def _backorder_deadline_hours() -> int:
    preset = preset_active_get()
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
