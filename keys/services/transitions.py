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

from ..models import Key, KeyEvent, KeyStatus
from ..selectors import key_was_disclosed
from .batches import batch_defect_check
from .stock_schedule import stock_check_on_commit

S = KeyStatus
ALLOWED_MOVES: dict[str, frozenset[str]] = {
    S.AVAILABLE: frozenset({S.RESERVED, S.DELIVERED, S.DEFECTIVE}),
    S.RESERVED: frozenset({S.DELIVERED, S.AVAILABLE, S.REVOKED, S.DEFECTIVE}),
    S.DELIVERED: frozenset({S.REVOKED, S.DEFECTIVE}),
    S.REVOKED: frozenset(),
    S.DEFECTIVE: frozenset(),
}
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
) -> Key:
    """The status machine. ``key`` must be a fresh row locked by the caller's transaction."""
    from_status = key.status
    if to_status not in S.values:
        raise KeyTransitionError(f"Unknown key status {to_status!r}.")
    if to_status not in ALLOWED_MOVES[from_status]:
        raise KeyTransitionError(f"Key #{key.pk} is {from_status}; it cannot become {to_status}.")
    if not reason or not reason.strip():
        raise KeyTransitionError("A key status change needs a reason.")
    order_id = _order_id_for(key=key, order=order, order_line=order_line)
    now = timezone.now()
    fields = ["status", "status_changed_at", *extra_fields]

    if from_status == S.AVAILABLE and to_status in HELD_STATUSES:
        if order_line is None:
            raise KeyTransitionError(f"Key #{key.pk} needs an order line to become {to_status}.")
        if order_line.product_id != key.product_id:
            raise KeyTransitionError(f"Key #{key.pk} is not a key of the ordered product.")
        key.order_line = order_line
        fields.append("order_line")
    elif order_line is not None and order_line.pk != key.order_line_id:
        raise KeyTransitionError(f"Key #{key.pk} belongs to another order line.")
    if to_status == S.AVAILABLE:
        if key_was_disclosed(key=key):
            raise KeyTransitionError(
                f"Key #{key.pk} has been shown; a key anyone has seen never returns to stock."
            )
        key.order_line = None
        fields.append("order_line")
    if to_status == S.DELIVERED:
        key.delivered_at = now
        fields.append("delivered_at")

    key.status = to_status
    key.status_changed_at = now
    key.save(update_fields=fields)
    KeyEvent.objects.create(
        key=key,
        actor=actor,
        from_status=from_status,
        to_status=to_status,
        reason=reason.strip()[:500],
        order_id=order_id,
        reference=reference[:64],
        created_at=now,
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
        locked = Key.objects.select_for_update().get(pk=key.pk)
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
