"""The key status machine: one place checks a move and writes its KeyEvent.

Allowed moves (``keys.models.KEY_MACHINE``)::

    available -> reserved | delivered | defective
    reserved  -> delivered | available (only if never disclosed) | revoked | defective
    delivered -> revoked | defective
    revoked, defective: final

"Disclosed" means a KeyView row exists (any channel, staff included) or the customer has
viewed it: a code anyone has seen never returns to stock. Rows are locked in one order:
order -> order line -> key.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from core.statemachine import row_lock

from ..models import KEY_MACHINE, Key, KeyEvent, KeyStatus
from ..selectors import key_was_disclosed
from .batches import batch_defect_check
from .stock_schedule import stock_check_on_commit

S = KeyStatus
HELD_STATUSES = (S.RESERVED, S.DELIVERED)


class KeyTransitionError(Exception):
    """A move the key's status machine does not allow (the message says why)."""


class KeyAlreadyWithdrawn(KeyTransitionError):
    """The key was revoked (its money refunded, exchanged, or charged back): no remedy."""


def _order_id_for(*, key: Key, order=None, order_line=None):
    if order is not None:
        return order.pk
    if order_line is not None:
        return order_line.order_id
    if key.order_line_id:
        # through the relation: keys sits below orders and never imports it
        return Key.objects.filter(pk=key.pk).values_list("order_line__order_id", flat=True).get()
    return None


def _transition_locked(
    *,
    key: Key,
    to_status: str,
    actor=None,
    reason: str,
    order=None,
    order_line=None,
    reference: str = "",
    extra_fields: tuple[str, ...] = (),
    data: dict | None = None,
) -> Key:
    """The status machine. ``key`` must be a fresh row locked by the caller's transaction.

    Checks the move (:data:`keys.models.KEY_MACHINE`) and the key's own rules, then
    :meth:`~core.statemachine.StateMachine.transition` writes the row (status and the
    fields changed here plus ``extra_fields``, one UPDATE) and its KeyEvent (``data``:
    ids and figures behind the move)."""
    from_status = key.status
    if to_status not in S.values:
        raise KeyTransitionError(f"Unknown key status {to_status!r}.")
    if not KEY_MACHINE.allows(from_status=from_status, to_status=to_status):
        raise KeyTransitionError(f"Key #{key.pk} is {from_status}; it cannot become {to_status}.")
    if not reason or not reason.strip():
        raise KeyTransitionError("A key status change needs a reason.")
    order_id = _order_id_for(key=key, order=order, order_line=order_line)
    now = timezone.now()
    changes: dict[str, object] = {"status_changed_at": now}

    if from_status == S.AVAILABLE and to_status in HELD_STATUSES:
        if order_line is None:
            raise KeyTransitionError(f"Key #{key.pk} needs an order line to become {to_status}.")
        if order_line.product_id != key.product_id:
            raise KeyTransitionError(f"Key #{key.pk} is not a key of the ordered product.")
        changes["order_line"] = order_line
    elif order_line is not None and order_line.pk != key.order_line_id:
        raise KeyTransitionError(f"Key #{key.pk} belongs to another order line.")
    if to_status == S.AVAILABLE:
        if key_was_disclosed(key=key):
            raise KeyTransitionError(
                f"Key #{key.pk} has been shown; a key anyone has seen never returns to stock."
            )
        changes["order_line"] = None
    if to_status == S.DELIVERED:
        changes["delivered_at"] = now

    def event(moved_from: str, moved_to: str) -> KeyEvent:
        return KeyEvent(
            key=key,
            actor=actor,
            kind=KeyEvent.kind_for(to_status=moved_to),
            from_status=moved_from,
            to_status=moved_to,
            reason=reason.strip()[:500],
            order_id=order_id,
            reference=reference[:64],
            data=data or {},
            created_at=now,
        )

    KEY_MACHINE.transition(
        locked=key,
        to_status=to_status,
        event=event,
        changes=changes,
        also_save=extra_fields,
        same_status_ok=False,
        label=f"#{key.pk}",
    )
    if to_status == S.DEFECTIVE:
        # Same transaction: the defect and the quarantine it triggers commit together.
        batch_defect_check(batch_id=key.batch_id)
    return key


def key_transition(
    *,
    key: Key,
    to_status: str,
    actor=None,
    reason: str,
    order=None,
    order_line=None,
    reference: str = "",
) -> Key:
    """Move one key to ``to_status`` if the status machine allows it; writes a KeyEvent.

    Locks the key row, re-reads it, checks the move and updates ``key`` in place.
    ``order_line`` is required when an available key is reserved or delivered.
    """
    with transaction.atomic():
        locked = row_lock(model=Key, pk=key.pk)
        from_status = locked.status
        _transition_locked(
            key=locked,
            to_status=to_status,
            actor=actor,
            reason=reason,
            order=order,
            order_line=order_line,
            reference=reference,
        )
        if S.AVAILABLE in (from_status, to_status):
            stock_check_on_commit(product_ids=[locked.product_id])
    for name in ("status", "status_changed_at", "order_line_id", "delivered_at"):
        setattr(key, name, getattr(locked, name))
    return key


def key_release(*, key: Key, actor, reason: str) -> Key:
    """reserved -> available, only if the code was never shown to anyone."""
    return key_transition(key=key, to_status=S.AVAILABLE, actor=actor, reason=reason)


def key_mark_defective(*, key: Key, actor, reason: str, reference: str = "") -> Key:
    """The code does not work: it counts against its batch's defect rate."""
    return key_transition(
        key=key, to_status=S.DEFECTIVE, actor=actor, reason=reason, reference=reference
    )
