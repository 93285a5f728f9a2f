"""Locking the order lines keys are sold to, without importing ``orders``.

``keys`` sits below ``orders`` in the layering, so the order line model is reached through
``Key.order_line``'s foreign key rather than imported. Lock order everywhere:
order -> order line -> key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..models import Key

if TYPE_CHECKING:
    from django.db.models import Model


def _order_line_model() -> type[Model]:
    # unavoidable: locking lines that hold no key yet needs the line table itself
    model = Key._meta.get_field("order_line").related_model
    assert model is not None and model != "self"  # a FK to another model: always the class
    return model


def order_line_lock(*, pk: Any) -> Any:
    """The order line ``pk``, locked until the caller's transaction ends."""
    return _order_line_model()._default_manager.select_for_update().get(pk=pk)


def order_lines_lock(*, order_id: Any, line_id: Any = None) -> list[Any]:
    """Lock the order's lines (or only ``line_id``) in id order; returns their ids."""
    lines = _order_line_model()._default_manager.select_for_update().filter(order_id=order_id)
    if line_id is not None:
        lines = lines.filter(pk=line_id)
    return list(lines.order_by("id").values_list("pk", flat=True))
