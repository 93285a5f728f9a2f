"""Fraud checks and security holds: the blocklist, the gateway's risk facts, keys
reserved while an order is held, and staff releasing a hold."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from keys.services import key_allocate

from .. import tasks
from ..gateways import gateway_get
from ..models import (
    BlocklistEntry,
    BlocklistKind,
    Order,
    OrderEventKind,
    OrderRisk,
)
from .errors import OrderError
from .transitions import S, order_event_add

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
        tasks.order_deliver_task.delay_on_commit(str(locked.pk))
    return locked
