"""Selling keys: all-or-nothing allocation to an order line, and replacements.

Allocation never sells a key twice: PostgreSQL row locks (``FOR UPDATE OF key SKIP
LOCKED``) plus the constraints on Key; on SQLite writers are serialized by
``BEGIN IMMEDIATE`` (settings), so the same code is correct there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

from django.db import connection, transaction
from django.db.models import QuerySet, Subquery
from django.utils import timezone

from core.prepared import PreparedQuery

from ..models import Key, KeyBatch
from ..selectors import key_available_in_batch, key_batches_allocatable
from .locking import order_line_lock
from .stock_schedule import stock_check_on_commit
from .transitions import (
    HELD_STATUSES,
    KeyAlreadyWithdrawn,
    KeyTransitionError,
    S,
    _transition_locked,
)


@dataclass(frozen=True)
class AllocationResult:
    """What :func:`key_allocate` did. ``ok`` False means nothing changed at all."""

    ok: bool
    requested: int
    keys: list[Key] = field(default_factory=list)
    shortfall: int = 0

    @property
    def out_of_stock(self) -> bool:
        return not self.ok


def _keys_lock_sellable(*, product_id: int, count: int) -> list[Key]:
    """Lock up to ``count`` sellable keys, FIFO, inside the caller's transaction.

    FIFO is batch by batch (``key_batches_allocatable``: oldest received first), then by
    key id within a batch, each batch's keys read in the order of the partial index of
    available keys, so a sale costs the same with 10 or 1,000,000 keys on the shelf.
    The usual sale is one statement: the keys of the first batch with stock, the batch
    found by a subquery of the same statement.

    PostgreSQL: first without waiting (SKIP LOCKED) so concurrent buyers never queue on
    one another. If that finds too few, other buyers hold the rest: the SKIP LOCKED locks
    are released (savepoint rollback) and the keys are locked again in the same FIFO order,
    this time waiting, so a buyer is never turned away while enough stock remains
    (a buyer who then loses the race gets an honest shortfall). Waiting happens in one
    fixed order, so two buyers cannot deadlock.
    SQLite: no row locks; ``BEGIN IMMEDIATE`` already serializes writers.

    One key (the usual sale) needs no savepoint: a SKIP LOCKED read that comes back short
    of one key locked nothing, so there is nothing to release before waiting.
    """
    lockable = connection.features.has_select_for_update_skip_locked
    savepoint = transaction.savepoint() if lockable and count > 1 else None
    found = _first_batch_query(count=count, lock=lockable).fetch(
        product_id=product_id, today=timezone.localdate()
    )
    if len(found) < count:
        # the first batch ran short or its keys are held by other buyers: the next batches
        found = _keys_take_fifo(
            product_id=product_id, count=count, lock="skip_locked" if lockable else None
        )
    if not lockable:
        return found
    if len(found) == count:
        if savepoint is not None:
            transaction.savepoint_commit(savepoint)
        return found
    if savepoint is not None:
        transaction.savepoint_rollback(savepoint)
    return _keys_take_fifo(product_id=product_id, count=count, lock="wait")


def _first_batch_keys(*, count: int, lock: bool, product_id: Any, today: Any) -> QuerySet[Key]:
    """Up to ``count`` available keys of the product's first sellable batch (FIFO), the
    batch found by a subquery of the same statement; ``lock``: ``FOR UPDATE SKIP LOCKED``."""
    first_batch = Subquery(
        key_batches_allocatable(product_id=product_id, today=today).values("pk")[:1]
    )
    first = key_available_in_batch(product_id=product_id, batch_id=first_batch)
    if lock:
        first = first.select_for_update(skip_locked=True, of=("self",))
    return first[:count]


_PRODUCT_PK = Key._meta.get_field("product").target_field
# The usual sale's statement, built by the ORM once per process for each number of keys
# (core.prepared; the count is the statement's LIMIT). Larger counts are built per call.
_FIRST_BATCH_QUERIES: dict[tuple[int, bool], PreparedQuery[Key]] = {}
_FIRST_BATCH_QUERIES_KEPT = 16


def _first_batch_query(*, count: int, lock: bool) -> PreparedQuery[Key]:
    query = _FIRST_BATCH_QUERIES.get((count, lock))
    if query is None:
        query = PreparedQuery(
            name=f"keys.first_batch_keys:{count}:{lock}",
            build=partial(_first_batch_keys, count=count, lock=lock),
            params={"product_id": _PRODUCT_PK, "today": KeyBatch._meta.get_field("expires_on")},
        )
        if count <= _FIRST_BATCH_QUERIES_KEPT:
            _FIRST_BATCH_QUERIES[(count, lock)] = query
    return query


# Keys an order line holds (reserved or delivered), locked, oldest first.
HELD_LOCKED: PreparedQuery[Key] = PreparedQuery(
    name="keys.held_locked",
    build=lambda *, line_id: (
        Key.objects.select_for_update()
        .filter(order_line_id=line_id, status__in=HELD_STATUSES)
        .order_by("id")
    ),
    params={"line_id": Key._meta.get_field("order_line").target_field},
)


def _keys_take_fifo(
    *, product_id: int, count: int, lock: Literal["skip_locked", "wait"] | None
) -> list[Key]:
    """Up to ``count`` available keys, batch by batch in FIFO order (see above)."""
    found: list[Key] = []
    for batch_id in key_batches_allocatable(product_id=product_id).values_list("pk", flat=True):
        qs = key_available_in_batch(product_id=product_id, batch_id=batch_id)
        if lock is not None:
            qs = qs.select_for_update(skip_locked=lock == "skip_locked", of=("self",))
        found += qs[: count - len(found)]
        if len(found) == count:
            break
    return found


def key_allocate(
    *,
    order_line,
    quantity: int,
    status: str = S.DELIVERED,
    actor=None,
    reason: str = "",
    line_locked: bool = False,
) -> AllocationResult:
    """Give ``order_line`` exactly ``quantity`` keys, all or nothing, in one transaction.

    ``quantity`` is the number of keys the line must hold: keys it already holds (reserved
    or delivered) count, so running this twice never allocates twice. With
    ``status="delivered"`` reserved keys already on the line are delivered too. When stock
    is short nothing changes and the result says by how much (``ok`` False, ``shortfall``).
    ``line_locked``: ``order_line`` is a row the caller's transaction read with
    ``select_for_update`` (it is not read again).
    """
    if status not in HELD_STATUSES:
        raise ValueError(f"key_allocate status must be reserved or delivered, not {status!r}")
    if quantity < 1:
        raise ValueError("key_allocate quantity must be at least 1")
    why = reason or ("held for a fraud check" if status == S.RESERVED else "sold")
    # A caller holding the line locked is in its own transaction: this is part of it (no
    # savepoint of its own; an error rolls the caller back, a shortfall changes nothing).
    with transaction.atomic(savepoint=not line_locked):
        line = order_line if line_locked else order_line_lock(pk=order_line.pk)
        held = HELD_LOCKED.fetch(line_id=line.pk)
        missing = quantity - len(held)
        fresh: list[Key] = []
        if missing > 0:
            fresh = _keys_lock_sellable(product_id=line.product_id, count=missing)
            if len(fresh) < missing:
                return AllocationResult(
                    ok=False, requested=quantity, shortfall=missing - len(fresh)
                )
        for key in held:
            if key.status == S.RESERVED and status == S.DELIVERED:
                _transition_locked(
                    key=key, to_status=S.DELIVERED, actor=actor, reason=why, order_line=line
                )
        for key in fresh:
            _transition_locked(key=key, to_status=status, actor=actor, reason=why, order_line=line)
        if fresh:
            stock_check_on_commit(product_ids=[line.product_id])
    return AllocationResult(ok=True, requested=quantity, keys=held + fresh)


def key_allocate_replacement(
    *, failed_key: Key, actor, reason: str, reference: str = ""
) -> AllocationResult:
    """Deliver one unused key of the same product to the failed key's order line.

    All or nothing: when no key is in stock nothing changes (``ok`` False, shortfall 1).
    A delivered failed key is marked defective in the same transaction. Idempotent: a key
    already replaced returns its replacement.
    """
    if failed_key.order_line_id is None:
        raise KeyTransitionError(f"Key #{failed_key.pk} was never sold; nothing to replace.")
    with transaction.atomic():
        line = order_line_lock(pk=failed_key.order_line_id)
        failed = Key.objects.select_for_update().get(pk=failed_key.pk)
        existing = Key.objects.filter(replaces=failed).first()
        if existing is not None:
            return AllocationResult(ok=True, requested=1, keys=[existing])
        if failed.status == S.REVOKED:
            raise KeyAlreadyWithdrawn(
                f"Key #{failed.pk} was revoked (refunded, exchanged or disputed); "
                "a revoked key gets no replacement."
            )
        if failed.status not in (S.DELIVERED, S.DEFECTIVE):
            raise KeyTransitionError(
                f"Key #{failed.pk} is {failed.status}; only a delivered key can be replaced."
            )
        fresh = _keys_lock_sellable(product_id=failed.product_id, count=1)
        if not fresh:
            return AllocationResult(ok=False, requested=1, shortfall=1)
        if failed.status == S.DELIVERED:
            _transition_locked(
                key=failed,
                to_status=S.DEFECTIVE,
                actor=actor,
                reason=reason,
                order_line=line,
                reference=reference,
            )
        new = fresh[0]
        new.replaces = failed
        _transition_locked(
            key=new,
            to_status=S.DELIVERED,
            actor=actor,
            reason=f"replacement for key #{failed.pk}: {reason}",
            order_line=line,
            reference=reference,
            extra_fields=("replaces",),
            data={"replaces_key_id": failed.pk},
        )
        stock_check_on_commit(product_ids=[new.product_id])
    failed_key.status = failed.status
    return AllocationResult(ok=True, requested=1, keys=[new])
