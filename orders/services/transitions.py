"""The order state machine: allowed moves, the one transition function, the event
rows it writes and what follows a move (coupon use, outgoing webhooks)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from ..models import (
    Order,
    OrderEvent,
    OrderEventKind,
    OrderStatus,
)
from ._common import _staff_alert
from .errors import OrderTransitionError

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
