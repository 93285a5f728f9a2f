"""The order state machine: allowed moves, the one transition function, the event
rows it writes and what follows a move (coupon use, outgoing webhooks)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.db import transaction
from django.utils import timezone

from core.prepared import row_insert
from core.statemachine import TransitionNotAllowed
from pricing.services import coupon_redemption_redeem, coupon_redemption_release
from webhooks.services import webhook_event_emit

from ..models import (
    ORDER_MACHINE,
    Order,
    OrderEvent,
    OrderEventKind,
    OrderStatus,
)
from ._common import _staff_alert
from .errors import OrderTransitionError

if TYPE_CHECKING:
    from django.db import models

    from accounts.models import User

S = OrderStatus

# The allowed moves are ORDER_MACHINE (orders.models, beside the model).
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


def _event_actor(actor: object) -> User | None:
    """``OrderEvent.actor``: the acting user when it is a saved one, else None."""
    # actor_or_none (core.audit) returns its argument unchanged or None, typed ``object``;
    # the actors passed here are users (or None, or an anonymous visitor, which has no pk).
    return cast("User | None", OrderEvent.actor_or_none(actor))


def order_event_add(
    *,
    order: Order,
    kind: OrderEventKind | str,
    reason: str,
    actor: Any = None,
    from_status: str = "",
    data: dict[str, Any] | None = None,
) -> OrderEvent:
    """A notable step of ``order`` (no status change): its kind, why, and its facts
    (amounts, ids) in ``data``."""
    event = order_event_build(
        order=order, kind=kind, reason=reason, actor=actor, from_status=from_status, data=data
    )
    row_insert(obj=event)
    return event


def order_event_build(
    *,
    order: Order,
    kind: OrderEventKind | str,
    reason: str,
    actor: Any = None,
    from_status: str = "",
    data: dict[str, Any] | None = None,
) -> OrderEvent:
    """:func:`order_event_add`'s row, not saved: for a caller that inserts its events
    together (``OrderEvent.objects.bulk_create``)."""
    return OrderEvent(
        order=order,
        actor=_event_actor(actor),
        kind=OrderEventKind(kind),
        from_status=from_status or order.status,
        to_status=order.status,
        reason=reason[:500],
        data=data or {},
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
    changes: dict[str, Any] = {}
    if ORDER_MACHINE.allows(from_status=locked.status, to_status=to_status):
        now = timezone.now()
        if to_status == S.PAID and locked.paid_at is None:
            changes["paid_at"] = now
        if to_status == S.DELIVERED and locked.delivered_at is None:
            changes["delivered_at"] = now
    try:
        moved = ORDER_MACHINE.transition(
            locked=locked,
            to_status=to_status,
            changes=changes,
            also_save=also_save,
            event=lambda from_status, to_status: OrderEvent(
                order=locked,
                actor=_event_actor(actor),
                kind=OrderEventKind.STATUS,
                from_status=from_status,
                to_status=to_status,
                reason=reason[:500],
            ),
            # core's machine takes any event rows: ours are OrderEvents (list is invariant)
            events=cast("list[models.Model] | None", events),
            label=locked.number,
        )
    except TransitionNotAllowed as exc:
        raise OrderTransitionError(
            str(exc), from_status=exc.from_status, to_status=exc.to_status
        ) from exc
    if not moved:
        return False
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

    if to_status == S.PAID:
        over = coupon_redemption_redeem(order_id=order.pk)
        if over:
            reason = f"coupon {', '.join(over)} was used up while this order was unpaid"
            order_event_add(
                order=order, kind=OrderEventKind.NOTE, reason=reason, data={"coupons": list(over)}
            )
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
ORDER_WEBHOOK_EVENTS: dict[str, str] = {S.PAID: "order.paid", S.DELIVERED: "order.delivered",
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
    webhook_event_emit(
        event=event,
        payload=lambda: {**order_webhook_payload(order=order), **(extra or {})},
        dedupe_key=dedupe_key,
    )


def _copy_state(source: Order, target: Order) -> None:
    if source is not target:
        for name in ("status", "paid_at", "delivered_at", "refunded_total"):
            setattr(target, name, getattr(source, name))
