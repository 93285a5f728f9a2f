"""The paid-order path's row reads, built by the ORM once per process (core.prepared):
every paid order runs them, and building each with the ORM cost more CPU than the
database spent on it. tests/orders/test_prepared_statements.py checks each against the
statement the ORM builds from concrete values."""

from __future__ import annotations

from typing import Any

from core.prepared import PreparedQuery

from ..models import Order, OrderLine, WebhookEvent, WebhookEventStatus

_ORDER_PK = Order._meta.get_field("id")

EVENT_LOCKED: PreparedQuery[WebhookEvent] = PreparedQuery(
    name="orders.event_locked",
    build=lambda *, pk: WebhookEvent.objects.select_for_update().filter(pk=pk),
    params={"pk": WebhookEvent._meta.get_field("id")},
)
ORDER_LOCKED: PreparedQuery[Order] = PreparedQuery(
    name="orders.order_locked",
    build=lambda *, pk: Order.objects.select_for_update().filter(pk=pk).order_by(),
    params={"pk": _ORDER_PK},
)
# The delivery's first read: the order locked, with its risk row (if any) in the same
# statement. The risk row is not locked of its own: every writer of the fields the
# delivery writes holds the order's lock first (payment, delivery, hold release).
ORDER_LOCKED_WITH_RISK: PreparedQuery[Order] = PreparedQuery(
    name="orders.order_locked_with_risk",
    build=lambda *, pk: (
        Order.objects.select_for_update(of=("self",))
        .select_related("risk")
        .filter(pk=pk)
        .order_by()
    ),
    params={"pk": _ORDER_PK},
)
LINES_LOCKED: PreparedQuery[OrderLine] = PreparedQuery(
    name="orders.lines_locked",
    build=lambda *, order_id: (
        OrderLine.objects.select_for_update(of=("self",))
        .select_related("product")
        .filter(order_id=order_id)
        .order_by("id")
    ),
    params={"order_id": _ORDER_PK},
)
EVENTS_DEFERRED: PreparedQuery[WebhookEvent] = PreparedQuery(
    name="orders.events_deferred",
    build=lambda *, order_id: WebhookEvent.objects.filter(
        order_id=order_id, status=WebhookEventStatus.DEFERRED
    ).values_list("id")[:1],
    params={"order_id": _ORDER_PK},
)


def order_locked_get(*, pk: Any, with_risk: bool = False) -> Order | None:
    """The order row, locked (``select_for_update``) in the caller's transaction; with its
    risk row read (``order.risk``, absent when it has none) when ``with_risk``."""
    found = (ORDER_LOCKED_WITH_RISK if with_risk else ORDER_LOCKED).fetch(pk=pk)
    return found[0] if found else None


def order_lines_locked(*, order: Order) -> list[OrderLine]:
    """The order's lines by id, locked, with their products, each knowing its order (as
    ``order.lines`` would give them)."""
    lines = LINES_LOCKED.fetch(order_id=order.pk)
    for line in lines:
        OrderLine.order.field.set_cached_value(line, order)
    return lines
