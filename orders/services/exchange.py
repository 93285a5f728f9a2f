"""Order lines added when a claim exchanges a key for another product."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction

from ..models import (
    Order,
    OrderEventKind,
    OrderLine,
)
from .transitions import order_event_add


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
                kind=OrderEventKind.EXCHANGE_LINE,
                actor=actor,
                reason=f"{order_line.product_name} exchanged for {product.name}",
                data={
                    "reference": reference,
                    "order_line_id": order_line.pk,
                    "line_id": line.pk,
                    "product_id": product.pk,
                },
            )
    return line
