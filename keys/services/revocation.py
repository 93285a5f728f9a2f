"""Withdrawing sold keys: refunds, disputes, cancellations (revoke, or back to stock
when never shown)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from ..models import Key
from ..selectors import key_was_disclosed
from .locking import order_line_lock, order_lines_lock
from .stock_schedule import stock_check_on_commit
from .transitions import HELD_STATUSES, S, _transition_locked


@dataclass(frozen=True)
class RevokeResult:
    revoked: list[Key]
    released: list[Key]


def key_revoke_for_order(
    *, order, actor=None, reason: str, reference: str = "", order_line=None
) -> RevokeResult:
    """Withdraw every key the order holds (refund, dispute, cancellation), or only the keys
    of ``order_line`` when given, replacements included. Idempotent.

    Delivered keys, and reserved keys that were shown, are revoked; reserved keys never
    shown to anyone go back to stock. Keys already revoked or defective are left as they are.
    The order's lines are locked first (order -> line -> key, as allocation and replacement
    lock them), so a replacement being sent at the same moment is either revoked here too
    or refused because its key is already revoked.
    """
    with transaction.atomic():
        line_ids = order_lines_lock(
            order_id=order.pk, line_id=order_line.pk if order_line is not None else None
        )
        keys = list(
            Key.objects.select_for_update()
            .filter(order_line_id__in=line_ids, status__in=HELD_STATUSES)
            .order_by("id")
        )
        return _keys_withdraw_locked(
            keys=keys, order=order, actor=actor, reason=reason, reference=reference
        )


def key_revoke_with_replacements(
    *, key: Key, actor=None, reason: str, reference: str = ""
) -> RevokeResult:
    """Withdraw one sold key and every key sent in its place (a refund of that key).

    Locks the key's order line first, like a replacement does, so the two never both win.
    """
    if key.order_line_id is None:
        return RevokeResult(revoked=[], released=[])
    with transaction.atomic():
        line = order_line_lock(pk=key.order_line_id)
        chain: list[int] = []
        current: int | None = key.pk
        while current is not None and current not in chain:
            chain.append(current)
            current = Key.objects.filter(replaces_id=current).values_list("pk", flat=True).first()
        keys = list(
            Key.objects.select_for_update()
            .filter(pk__in=chain, order_line=line, status__in=HELD_STATUSES)
            .order_by("id")
        )
        return _keys_withdraw_locked(
            keys=keys, order=None, actor=actor, reason=reason, reference=reference, line=line
        )


def _keys_withdraw_locked(
    *, keys: list[Key], order, actor, reason: str, reference: str, line=None
) -> RevokeResult:
    revoked: list[Key] = []
    released: list[Key] = []
    for key in keys:
        if key.status == S.RESERVED and not key_was_disclosed(key=key):
            _transition_locked(
                key=key,
                to_status=S.AVAILABLE,
                actor=actor,
                reason=reason,
                order=order,
                order_line=line,
            )
            released.append(key)
        else:
            _transition_locked(
                key=key,
                to_status=S.REVOKED,
                actor=actor,
                reason=reason,
                order=order,
                order_line=line,
                reference=reference,
            )
            revoked.append(key)
    if released:
        stock_check_on_commit(product_ids=[k.product_id for k in released])
    return RevokeResult(revoked=revoked, released=released)
