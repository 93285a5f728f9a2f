"""Key inventory writes: the status machine, allocation, reveal, quarantine, stock alerts.

Rules this module keeps (see docs/INTERFACES.md for the signatures):

* Every status change goes through :func:`key_transition` (one place checks the allowed
  move and writes a KeyEvent). Allowed moves::

      available -> reserved | delivered | defective
      reserved  -> delivered | available (only if never disclosed) | revoked | defective
      delivered -> revoked | defective
      revoked, defective: final

  "Disclosed" means a KeyView row exists (any channel, staff included) or the customer
  has viewed it: a code anyone has seen never returns to stock.
* Rows are locked in one order: order -> order line -> key.
* Allocation never sells a key twice: PostgreSQL row locks (``FOR UPDATE OF key SKIP
  LOCKED``) plus the constraints on Key; on SQLite writers are serialized by
  ``BEGIN IMMEDIATE`` (settings), so the same code is correct there.
* No function here logs or stores a plaintext code; only :func:`key_reveal` returns one.
"""

from __future__ import annotations

import ipaddress
import logging
import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_variables

from .crypto import (
    KeyDecryptionError,
    code_clean,
    code_decrypt,
    code_digest,
    code_encryptor,
    token_is_current,
    token_rotate,
)
from .importfile import MAX_CODE_LENGTH, TOO_LONG, code_rows, detect_format
from .models import (
    CUSTOMER_VIEW_CHANNELS,
    Key,
    KeyBatch,
    KeyBatchEvent,
    KeyEvent,
    KeyImport,
    KeyStatus,
    KeyView,
    ProductStockAlert,
    Supplier,
    ViewChannel,
)
from .selectors import key_allocatable, key_available_counts, key_was_disclosed

logger = logging.getLogger(__name__)

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


class KeyNotRevealable(Exception):
    """The key is not in a state in which its code may be shown on this channel."""


# --------------------------------------------------------------------------- transitions


def _order_id_for(*, key: Key, order=None, order_line=None):
    if order is not None:
        return order.pk
    if order_line is not None:
        return order_line.order_id
    if key.order_line_id:
        from orders.models import OrderLine

        return OrderLine.objects.values_list("order_id", flat=True).get(pk=key.order_line_id)
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
            _stock_check_on_commit(product_ids=[locked.product_id])
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
    from orders.models import OrderLine

    with transaction.atomic():
        lines = OrderLine.objects.select_for_update().filter(order_id=order.pk)
        if order_line is not None:
            lines = lines.filter(pk=order_line.pk)
        line_ids = list(lines.order_by("id").values_list("pk", flat=True))
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
    from orders.models import OrderLine

    if key.order_line_id is None:
        return RevokeResult(revoked=[], released=[])
    with transaction.atomic():
        line = OrderLine.objects.select_for_update().get(pk=key.order_line_id)
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
        _stock_check_on_commit(product_ids=[k.product_id for k in released])
    return RevokeResult(revoked=revoked, released=released)


# --------------------------------------------------------------------------- allocation


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

    PostgreSQL: first without waiting (SKIP LOCKED) so concurrent buyers never queue on
    one another. If that finds too few, other buyers hold the rest: the SKIP LOCKED locks
    are released (savepoint rollback) and the keys are locked again in the same FIFO order,
    this time waiting, so a buyer is never turned away while enough stock remains
    (a buyer who then loses the race gets an honest shortfall). Waiting happens in one
    fixed order, so two buyers cannot deadlock.
    SQLite: no row locks; ``BEGIN IMMEDIATE`` already serializes writers.
    """
    qs = key_allocatable(product_id=product_id)
    if not connection.features.has_select_for_update_skip_locked:
        return list(qs[:count])
    savepoint = transaction.savepoint()
    found = list(qs.select_for_update(skip_locked=True, of=("self",))[:count])
    if len(found) == count:
        transaction.savepoint_commit(savepoint)
        return found
    transaction.savepoint_rollback(savepoint)
    return list(qs.select_for_update(of=("self",))[:count])


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
    from orders.models import OrderLine

    if status not in HELD_STATUSES:
        raise ValueError(f"key_allocate status must be reserved or delivered, not {status!r}")
    if quantity < 1:
        raise ValueError("key_allocate quantity must be at least 1")
    why = reason or ("held for a fraud check" if status == S.RESERVED else "sold")
    with transaction.atomic():
        if line_locked:
            line = order_line
        else:
            line = OrderLine.objects.select_for_update().get(pk=order_line.pk)
        held = list(
            Key.objects.select_for_update()
            .filter(order_line=line, status__in=HELD_STATUSES)
            .order_by("id")
        )
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
            _stock_check_on_commit(product_ids=[line.product_id])
    return AllocationResult(ok=True, requested=quantity, keys=held + fresh)


def key_allocate_replacement(
    *, failed_key: Key, actor, reason: str, reference: str = ""
) -> AllocationResult:
    """Deliver one unused key of the same product to the failed key's order line.

    All or nothing: when no key is in stock nothing changes (``ok`` False, shortfall 1).
    A delivered failed key is marked defective in the same transaction. Idempotent: a key
    already replaced returns its replacement.
    """
    from orders.models import OrderLine

    if failed_key.order_line_id is None:
        raise KeyTransitionError(f"Key #{failed_key.pk} was never sold; nothing to replace.")
    with transaction.atomic():
        line = OrderLine.objects.select_for_update().get(pk=failed_key.order_line_id)
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
        )
        _stock_check_on_commit(product_ids=[new.product_id])
    failed_key.status = failed.status
    return AllocationResult(ok=True, requested=1, keys=[new])


# --------------------------------------------------------------------------- reveal


def _clean_ip(ip: str | None) -> str | None:
    if not ip:
        return None
    try:
        return str(ipaddress.ip_address(ip.strip()))
    except ValueError:
        return None


@sensitive_variables()  # error reports never show a code
def key_reveal(
    *,
    key: Key,
    channel: str,
    ip: str | None,
    user_agent: str,
    user=None,
    guest_email: str = "",
    reason: str = "",
) -> str:
    """Decrypt one code for one viewer and audit it (a KeyView row). Returns the plaintext.

    Customer channels show delivered keys only; the staff channel needs the
    ``keys.reveal_key_code`` permission. The customer's first view on our pages sets
    ``first_viewed_at`` once. Raises :class:`~keys.crypto.KeyDecryptionError` (and writes
    no view) when the stored code cannot be decrypted. The caller must send the response
    with ``Cache-Control: no-store`` (``keys.http.no_store``) and never log the result.
    """
    if channel not in ViewChannel.values:
        raise ValueError(f"Unknown reveal channel {channel!r}")
    staff_allowed = user is not None and user.has_perm("keys.reveal_key_code")
    if channel == ViewChannel.STAFF and not staff_allowed:
        raise PermissionDenied("Revealing a key code needs the reveal_key_code permission.")
    current = Key.objects.only("id", "status", "ciphertext", "first_viewed_at").get(pk=key.pk)
    if channel != ViewChannel.STAFF and current.status != S.DELIVERED:
        raise KeyNotRevealable(f"Key #{key.pk} is {current.status}; its code is not shown.")
    code = code_decrypt(current.ciphertext, key_id=current.pk)
    first = key_view_record(
        key_id=current.pk,
        channel=channel,
        ip=ip,
        user_agent=user_agent,
        user=user,
        guest_email=guest_email,
        reason=reason,
    )
    if first:
        key.first_viewed_at = first
    logger.info("key #%s revealed via %s", current.pk, channel)
    return code


@sensitive_variables()
def key_code_for_email(*, key_id: int) -> str:
    """The plaintext of a delivered key, to be put in an email being sent now.

    Writes no audit row: the outbox's hook calls :func:`key_view_record` (channel
    ``email``) once the SMTP server accepted the message, and only then. Never log it.
    """
    current = Key.objects.only("id", "status", "ciphertext").get(pk=key_id)
    if current.status != S.DELIVERED:
        raise KeyNotRevealable(f"Key #{key_id} is {current.status}; its code is not shown.")
    return code_decrypt(current.ciphertext, key_id=current.pk)


@sensitive_variables()
def key_codes_for_order_email(*, order_id, keys: list[Key] | None = None) -> list[tuple[Key, str]]:
    """The delivered keys of an order with their plaintexts (by line, then key), for an
    email being sent now: one query for every key, or none when the caller hands over the
    rows its own transaction just delivered (``keys``). Writes no audit row, like
    :func:`key_code_for_email`; the outbox hook records the views once the server
    accepted the message. Never log the codes."""
    if keys is None:
        keys = list(
            Key.objects.filter(order_line__order_id=order_id, status=S.DELIVERED)
            .only("id", "status", "ciphertext", "order_line_id")
            .order_by("order_line_id", "id")
        )
    else:
        keys = sorted(
            (k for k in keys if k.status == S.DELIVERED), key=lambda k: (k.order_line_id, k.pk)
        )
    return [(key, code_decrypt(key.ciphertext, key_id=key.pk)) for key in keys]


def key_views_record_email(*, key_ids: Iterable[int], guest_email: str) -> None:
    """Audit that these codes went out in an email a server accepted (channel ``email``,
    not a customer's own view: ``first_viewed_at`` is not set): one insert for all."""
    now = timezone.now()
    KeyView.objects.bulk_create(
        [
            KeyView(key_id=key_id, guest_email=guest_email or "", channel=ViewChannel.EMAIL,
                    first_view=False, created_at=now)
            for key_id in key_ids
        ]
    )  # fmt: skip


def key_view_record(
    *,
    key_id: int,
    channel: str,
    ip: str | None = None,
    user_agent: str = "",
    user=None,
    guest_email: str = "",
    reason: str = "",
):
    """Audit one disclosure of a code (a KeyView row). Returns the time of the customer's
    first view when this was it (customer channels set ``first_viewed_at`` once), else None."""
    if channel not in ViewChannel.values:
        raise ValueError(f"Unknown reveal channel {channel!r}")
    now = timezone.now()
    with transaction.atomic():
        first = False
        if channel in CUSTOMER_VIEW_CHANNELS:
            first = (
                Key.objects.filter(pk=key_id, first_viewed_at__isnull=True).update(
                    first_viewed_at=now
                )
                == 1
            )
        KeyView.objects.create(
            key_id=key_id,
            user=user if user is not None and user.is_authenticated else None,
            guest_email=guest_email or "",
            ip=_clean_ip(ip),
            user_agent=(user_agent or "")[:400],
            channel=channel,
            first_view=first,
            reason=(reason or "")[:500],
            created_at=now,
        )
    return now if first else None


# --------------------------------------------------------------------------- batches


def batch_quarantine(*, batch: KeyBatch, reason: str, actor) -> KeyBatch:
    """Withdraw the batch's unsold keys from sale (they stay 'available' but unsellable).

    The batch flag is the one switch: allocation and stock counts skip quarantined batches,
    and lifting the quarantine puts the keys back on sale. Reserved and delivered keys are
    left to staff (revoke or replace them one by one). Idempotent.
    """
    if not reason or not reason.strip():
        raise ValueError("A quarantine needs a reason.")
    with transaction.atomic():
        locked = KeyBatch.objects.select_for_update().get(pk=batch.pk)
        if not locked.is_quarantined:
            locked.is_quarantined = True
            locked.quarantined_at = timezone.now()
            locked.quarantine_reason = reason.strip()[:500]
            locked.save(update_fields=["is_quarantined", "quarantined_at", "quarantine_reason"])
            quarantined = KeyBatchEvent.objects.create(
                batch=locked, actor=actor, action=KeyBatchEvent.Action.QUARANTINED, reason=reason
            )
            _stock_check_on_commit(product_ids=[locked.product_id])
            from webhooks.services import webhook_event_emit

            webhook_event_emit(
                event="batch.quarantined",
                payload={
                    "batch": {
                        "id": locked.pk,
                        "reference": locked.reference,
                        "product_id": locked.product_id,
                        "supplier_id": locked.supplier_id,
                        "quarantined_at": locked.quarantined_at.isoformat(),
                        "reason": locked.quarantine_reason,
                    }
                },
                dedupe_key=f"batch.quarantined:{locked.pk}:{quarantined.pk}",
            )
    batch.is_quarantined, batch.quarantined_at = locked.is_quarantined, locked.quarantined_at
    batch.quarantine_reason = locked.quarantine_reason
    return batch


def batch_quarantine_lift(*, batch: KeyBatch, reason: str, actor) -> KeyBatch:
    if not reason or not reason.strip():
        raise ValueError("Lifting a quarantine needs a reason.")
    with transaction.atomic():
        locked = KeyBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.is_quarantined:
            locked.is_quarantined = False
            locked.quarantined_at = None
            locked.quarantine_reason = ""
            locked.save(update_fields=["is_quarantined", "quarantined_at", "quarantine_reason"])
            KeyBatchEvent.objects.create(
                batch=locked, actor=actor, action=KeyBatchEvent.Action.RELEASED, reason=reason
            )
            _stock_check_on_commit(product_ids=[locked.product_id])
    batch.is_quarantined, batch.quarantined_at = False, None
    batch.quarantine_reason = ""
    return batch


def batch_defect_check(*, batch_id: int) -> bool:
    """Quarantine a batch whose confirmed-defect rate reaches its supplier's threshold.

    The rate is defective keys / sold keys (keys that went to a customer: delivered,
    revoked or defective), counted only once at least the supplier's minimum sample was
    sold. Runs inside the transaction that marked a key defective (lock order: key, then
    batch); staff are told why through the outbox in the same transaction. Returns whether
    this call quarantined the batch; an already quarantined batch is left alone.
    """
    from core.outbox import staff_alert_enqueue

    batch = KeyBatch.objects.select_related("supplier", "product").get(pk=batch_id)
    supplier = batch.supplier
    if batch.is_quarantined or supplier.defect_quarantine_percent is None:
        return False
    counts = Key.objects.filter(batch_id=batch_id).aggregate(
        sold=Count("id", filter=Q(order_line__isnull=False) & ~Q(status=S.RESERVED)),
        defective=Count("id", filter=Q(status=S.DEFECTIVE)),
    )
    sold, defective = counts["sold"], counts["defective"]
    if sold < supplier.defect_min_sample:
        return False
    if defective * 100 < supplier.defect_quarantine_percent * sold:
        return False
    rate = Decimal(defective * 100) / sold
    reason = (
        f"automatic: {defective} of {sold} sold keys confirmed defective ({rate:.1f}%), "
        f"at or above {supplier.name}'s threshold of {supplier.defect_quarantine_percent}% "
        f"(minimum sample {supplier.defect_min_sample})"
    )
    batch_quarantine(batch=batch, reason=reason, actor=None)
    staff_alert_enqueue(
        kind="batch_quarantined",
        dedupe_key=f"batch:{batch_id}:auto-quarantine:{batch.quarantined_at.isoformat()}",
        subject=f"Batch #{batch_id} quarantined: {rate:.1f}% defective ({supplier.name})",
        body=(
            f"Batch #{batch_id} of {batch.product.name} from {supplier.name} "
            f"(reference {batch.reference or '-'}) was quarantined {reason}.\n"
            "Its unsold keys are no longer sold. Reserved and delivered keys are unchanged.\n"
            f"Review it: {settings.SITE_URL.rstrip('/')}/admin/keys/keybatch/{batch_id}/change/\n"
        ),
    )
    return True


# --------------------------------------------------------------------------- stock alerts


STOCK_CHECK_WINDOW_SECONDS = 5


def _stock_check_schedule(product_id: int) -> None:
    """At most one low-stock check per product per window, run after the window closes.

    A busy product sells many keys a second; checking after each sale is wasted work. The
    first sale of a window schedules one check for just after the window, so it sees every
    sale made in it and no crossing is missed. In-process mode (no broker) checks at once.
    """
    from config.celery import app

    from .tasks import keys_stock_check

    if app.conf.task_always_eager:
        keys_stock_check.delay(product_id)
        return
    if cache.add(f"keys:stock-check:{product_id}", 1, timeout=STOCK_CHECK_WINDOW_SECONDS):
        keys_stock_check.apply_async(args=[product_id], countdown=STOCK_CHECK_WINDOW_SECONDS + 1)


def _stock_check_on_commit(*, product_ids) -> None:
    """Schedule the low-stock check after commit. Robust: a broker or SMTP hiccup must never
    turn a committed sale into an error (the next stock change checks again)."""
    for product_id in sorted(set(product_ids)):
        transaction.on_commit(partial(_stock_check_schedule, product_id), robust=True)


def stock_alert_check(*, product_id: int) -> bool:
    """Email staff once when a product's sellable stock crosses to or below its threshold.

    Re-arms when stock is back above the threshold. Safe to run any number of times and
    concurrently: the crossing is one conditional UPDATE, and the alert is written to the
    outbox (one staff digest per burst) under a row lock only while ``notified_at`` is
    empty. Returns whether an alert was raised.
    """
    from catalog.models import Product
    from core.outbox import staff_alert_enqueue

    product = (
        Product.objects.only("id", "name", "sku", "low_stock_threshold")
        .filter(pk=product_id)
        .first()
    )
    if product is None:  # deleted since the check was enqueued
        return False
    available = key_available_counts(product_ids=[product_id]).get(product_id, 0)
    alert, _ = ProductStockAlert.objects.get_or_create(product_id=product_id)
    now = timezone.now()
    alerts = ProductStockAlert.objects.filter(pk=alert.pk)
    if available > product.low_stock_threshold:
        alerts.filter(below=True).update(below=False, rearmed_at=now)
        return False
    alerts.filter(below=False).update(below=True, alerted_at=now, notified_at=None)
    with transaction.atomic():
        row = ProductStockAlert.objects.select_for_update().get(pk=alert.pk)
        if not row.below or row.notified_at is not None:
            return False
        staff_alert_enqueue(
            kind="low_stock",
            subject=f"Low stock: {product.name} ({available} left)",
            body=(
                f"{product.name} (SKU {product.sku}) has {available} sellable key(s) left; "
                f"the low-stock threshold is {product.low_stock_threshold}.\n"
                f"Import more keys in the admin: {settings.SITE_URL.rstrip('/')}/admin/keys/\n"
            ),
        )
        row.notified_at = timezone.now()
        row.save(update_fields=["notified_at"])
        from webhooks.services import webhook_event_emit

        webhook_event_emit(
            event="stock.low",
            payload={
                "product": {
                    "id": product.pk,
                    "sku": product.sku,
                    "name": product.name,
                    "available": available,
                    "low_stock_threshold": product.low_stock_threshold,
                }
            },
            dedupe_key=f"stock.low:{product.pk}:{(row.alerted_at or row.notified_at).isoformat()}",
        )
    return True


# --------------------------------------------------------------------------- import

IMPORT_CHUNK = 2000
IMPORT_PREPARE_AHEAD = 2  # chunks prepared while the current one is stored (PostgreSQL)
MAX_REPORTED_LINES = 1000


@dataclass(frozen=True)
class ImportLineError:
    line: int
    reason: str


@dataclass
class ImportReport:
    """The outcome of one import. ``ok`` False means nothing at all was stored."""

    ok: bool
    source_name: str
    lines_read: int = 0
    imported: int = 0
    bad_lines: int = 0
    errors: list[ImportLineError] = field(default_factory=list)
    problem: str = ""  # a whole-file problem (no codes, wrong batch, bad format rule)
    import_id: int | None = None

    @property
    def errors_not_listed(self) -> int:
        return self.bad_lines - len(self.errors)

    @property
    def message(self) -> str:
        if self.ok:
            return ngettext(
                "Imported %(count)d key from %(source)s.",
                "Imported %(count)d keys from %(source)s.",
                self.imported,
            ) % {"count": self.imported, "source": self.source_name}
        if self.problem:
            return _("Nothing was imported from %(source)s: %(problem)s") % {
                "source": self.source_name,
                "problem": self.problem,
            }
        return ngettext(
            "Nothing was imported from %(source)s: %(count)d bad line. "
            "The batch is all-or-nothing: fix the line and import the whole file again.",
            "Nothing was imported from %(source)s: %(count)d bad lines. "
            "The batch is all-or-nothing: fix the lines and import the whole file again.",
            self.bad_lines,
        ) % {"source": self.source_name, "count": self.bad_lines}


class _ImportRejected(Exception):
    pass


def _line_problem(code: str, pattern: re.Pattern | None) -> str:
    if TOO_LONG in code or len(code) > MAX_CODE_LENGTH:
        return _("longer than %(max)d characters") % {"max": MAX_CODE_LENGTH}
    if not code:
        return _("empty line")
    if "\ufffd" in code:
        return _("not valid UTF-8 text")
    if not code.isprintable():
        return _("contains control characters (tab, NUL, …)")
    if pattern is not None and not pattern.fullmatch(code):
        return _("does not match this product's key format")
    return ""


@dataclass
class _PreparedChunk:
    """One chunk checked, fingerprinted and encrypted: CPU work only, no database.

    ``rows`` are ready to store (``_INSERT_COLUMNS`` order); ``fingerprints`` holds each
    row's (line number, fingerprint) in the same order. No plaintext code is kept.
    """

    last_line: int
    bad: list[tuple[int, str]]
    rows: list[tuple]
    fingerprints: list[tuple[int, str]]


@dataclass(frozen=True)
class _ChunkPreparer:
    """What preparing a chunk needs, fixed for the whole import (safe to use in a thread)."""

    pattern: re.Pattern | None
    encrypt: Callable[[str], str]
    product_id: int
    batch_id: int
    run_id: int

    @sensitive_variables()  # error reports never show a code
    def __call__(self, rows: list[tuple[int, str]]) -> _PreparedChunk:
        """Format checks, fingerprints, in-chunk duplicates, then encryption of the rest."""
        bad: list[tuple[int, str]] = []
        first_line: dict[str, int] = {}
        stored: list[tuple] = []
        fingerprints: list[tuple[int, str]] = []
        encrypt, now, available = self.encrypt, timezone.now(), S.AVAILABLE.value
        head = (self.product_id, self.batch_id, available)
        for number, raw in rows:
            code = code_clean(raw)
            problem = _line_problem(code, self.pattern)
            if problem:
                bad.append((number, problem))
                continue
            fingerprint, last4 = code_digest(code)
            seen = first_line.get(fingerprint)
            if seen is not None:
                bad.append((number, _("duplicate of line %(line)d") % {"line": seen}))
                continue
            first_line[fingerprint] = number
            fingerprints.append((number, fingerprint))
            stored.append((*head, encrypt(code), fingerprint, last4, self.run_id, number, now, now))
        return _PreparedChunk(
            last_line=rows[-1][0], bad=bad, rows=stored, fingerprints=fingerprints
        )


_DONE = object()


@contextmanager
def _computed_ahead(items: Iterator, *, depth: int) -> Iterator[Iterator]:
    """``items``, computed in a worker thread at most ``depth`` items ahead of the reader.

    The import's pipeline on PostgreSQL: the next chunks are checked, fingerprinted and
    encrypted while the caller's thread waits on the server storing the current one (the
    wait releases the GIL), so client and server work at the same time. The worker never
    touches the database; it runs in the caller's language (its error messages are
    translated). An exception in the worker is raised in the reader; on leaving the block
    (done, an error, a rejected file) the worker stops after its current item and is
    joined, so nothing reads the caller's input once the block is left.
    """
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    language = translation.get_language()

    def hand(item) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        with translation.override(language):
            try:
                for item in items:
                    if not hand((True, item)):
                        return
            except BaseException as exc:  # handed to the reader, raised there
                hand((False, exc))
                return
            hand((True, _DONE))

    def results() -> Iterator:
        while True:
            ok, item = handoff.get()
            if not ok:
                raise item
            if item is _DONE:
                return
            yield item

    worker = threading.Thread(target=work, name="key-import-prepare", daemon=True)
    worker.start()
    try:
        yield results()
    finally:
        stop.set()
        worker.join()


class _ImportRun:
    """Per-import state that stays small: the report's first lines and a few counters."""

    def __init__(self, *, report: ImportReport, product, batch, run) -> None:
        self.report, self.product, self.batch, self.run = report, product, batch, run

    def bad(self, line: int, reason: str) -> None:
        self.report.bad_lines += 1
        if len(self.report.errors) < MAX_REPORTED_LINES:
            self.report.errors.append(ImportLineError(line=line, reason=reason))

    def store(self, chunk: _PreparedChunk) -> None:
        """Store one prepared chunk; its bad lines are reported in line order."""
        self.report.lines_read = chunk.last_line
        listed = len(self.report.errors)
        for number, reason in chunk.bad:
            self.bad(number, reason)
        self._store(chunk)
        self.report.errors[listed:] = sorted(self.report.errors[listed:], key=lambda e: e.line)

    def _store(self, chunk: _PreparedChunk) -> None:
        rows = chunk.rows
        if not rows:
            return
        # The unique fingerprint constraint is the duplicate check against everything
        # stored, earlier lines of this file included (they are in this transaction, and
        # the whole import rolls back if it is rejected). Only when it fires do we look
        # the chunk's codes up, in one query, to say which lines and why.
        try:
            with transaction.atomic():
                _keys_insert(rows)
        except IntegrityError:
            pass
        else:
            self.report.imported += len(rows)
            return
        known = {
            row[0]: row[1:]
            for row in _keys_known(fingerprints=[fp for _n, fp in chunk.fingerprints])
        }
        fresh = []
        for row, (number, fingerprint) in zip(rows, chunk.fingerprints, strict=True):
            hit = known.get(fingerprint)
            if hit is None:
                fresh.append(row)
            elif hit[0] == self.run.pk:
                self.bad(number, _("duplicate of line %(line)d") % {"line": hit[1]})
            elif hit[2] == self.product.pk:
                self.bad(number, _("already in the inventory for this product (in stock or sold)"))
            else:
                self.bad(number, _("already in the inventory under another product"))
        _keys_insert(fresh)
        self.report.imported += len(fresh)


def _keys_known(*, fingerprints: list[str]) -> list[tuple]:
    """(fingerprint, import_run_id, import_line, product_id) of stored keys, one query."""
    if not fingerprints:
        return []
    if connection.vendor == "postgresql":  # one array parameter instead of 2,000
        table = connection.ops.quote_name(Key._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT fingerprint, import_run_id, import_line, product_id "  # noqa: S608
                f"FROM {table} WHERE fingerprint = ANY(%s)",
                [fingerprints],
            )
            return cursor.fetchall()
    return list(
        Key.objects.filter(fingerprint__in=fingerprints).values_list(
            "fingerprint", "import_run_id", "import_line", "product_id"
        )
    )


_INSERT_COLUMNS = (
    "product_id",
    "batch_id",
    "status",
    "ciphertext",
    "fingerprint",
    "last4",
    "import_run_id",
    "import_line",
    "status_changed_at",
    "created_at",
)


def _import_streams() -> bool:
    """The import's streaming path (PostgreSQL): chunks prepared ahead in a worker thread
    and stored with COPY. Elsewhere (SQLite) one thread prepares and bulk-inserts in turn;
    both store the same rows."""
    return connection.vendor == "postgresql"


def _keys_insert(rows: list[tuple]) -> None:
    """Insert new key rows (tuples in _INSERT_COLUMNS order) in the current transaction.

    PostgreSQL: one COPY per chunk (the import's hot path: several times faster than
    INSERT, and the same constraints and indexes apply). Elsewhere: bulk_create.
    """
    if not rows:
        return
    if _import_streams():
        table = connection.ops.quote_name(Key._meta.db_table)
        columns = ", ".join(connection.ops.quote_name(c) for c in _INSERT_COLUMNS)
        with (
            connection.cursor() as cursor,
            connection.wrap_database_errors,  # psycopg errors -> django.db.IntegrityError
            cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    Key.objects.bulk_create(
        [Key(**dict(zip(_INSERT_COLUMNS, row, strict=True))) for row in rows],
        batch_size=IMPORT_CHUNK,
    )


@sensitive_variables()  # error reports never show a code
def key_import(
    *,
    product,
    batch: KeyBatch,
    lines: Iterable[str],
    source_name: str,
    actor=None,
    fmt: str = "auto",
) -> ImportReport:
    """Import codes for ``product`` into ``batch``, all or nothing, streaming.

    ``lines`` is any iterable of text lines (a file opened in text mode, a generator, or
    :func:`keys.importfile.text_lines` over an upload); it is consumed one chunk at a time.
    ``fmt`` is "text" (one code a line), "csv" (a `code` column or the first column) or
    "auto" (CSV when ``source_name`` ends in .csv). Every bad line is reported with its
    number and why; if there is any, nothing is stored and the report says so. A
    KeyImport row records every run, imported or rejected.
    """
    from catalog.models import Product

    report = ImportReport(ok=False, source_name=source_name)
    problem = ""
    pattern = None
    if batch.product_id != product.pk:
        problem = _("the batch belongs to another product.")
    elif batch.is_quarantined:
        problem = _("the batch is quarantined.")
    elif product.key_format:
        try:
            pattern = re.compile(product.key_format)
        except re.error:
            problem = _("the product's key format is not a valid regular expression.")
    if problem:
        report.problem = problem
        _import_record(report=report, product=product, batch=batch, actor=actor)
        return report

    rows = code_rows(lines=lines, fmt=detect_format(source_name=source_name, fmt=fmt))
    try:
        with transaction.atomic():
            # Lock the product row: imports of one product run one at a time, so two
            # files holding the same code cannot both pass the duplicate check.
            list(Product.objects.select_for_update().filter(pk=product.pk).values_list("pk"))
            run = _import_record(report=report, product=product, batch=batch, actor=actor)
            state = _ImportRun(report=report, product=product, batch=batch, run=run)
            prepare = _ChunkPreparer(
                pattern=pattern,
                encrypt=code_encryptor(),
                product_id=product.pk,
                batch_id=batch.pk,
                run_id=run.pk,
            )
            prepared = map(prepare, _chunks(rows, IMPORT_CHUNK))
            ahead = (
                _computed_ahead(prepared, depth=IMPORT_PREPARE_AHEAD)
                if _import_streams()
                else nullcontext(prepared)  # one thread, one chunk at a time
            )
            with _key_references_checked_per_statement(), ahead as chunks:
                for chunk in chunks:
                    state.store(chunk)
            if report.bad_lines or not report.imported:
                raise _ImportRejected
            report.ok = True
            run.outcome, run.lines_read = KeyImport.Outcome.IMPORTED, report.lines_read
            run.imported, run.bad_lines = report.imported, 0
            run.save(update_fields=["outcome", "lines_read", "imported", "bad_lines"])
            _stock_check_on_commit(product_ids=[product.pk])
    except _ImportRejected:
        if not report.bad_lines:
            report.problem = _("the file has no codes.")
        report.imported = 0
        _import_record(report=report, product=product, batch=batch, actor=actor)
    except IntegrityError:  # another import stored one of these codes meanwhile
        report.problem = _("another import stored some of these codes at the same time; retry.")
        report.imported = 0
        _import_record(report=report, product=product, batch=batch, actor=actor)
    logger.info(
        "key import %s: %s, %d imported, %d bad line(s)",
        source_name,
        "ok" if report.ok else "rejected",
        report.imported,
        report.bad_lines,
    )
    return report


@contextmanager
def _key_references_checked_per_statement():
    """PostgreSQL: check the key rows' foreign keys at the end of each COPY, not at COMMIT.

    Django declares foreign keys DEFERRABLE INITIALLY DEFERRED, so by default a million
    inserted keys queue three million reference checks in the server's memory and run them
    all at COMMIT while the client waits. Checked per statement they run chunk by chunk,
    while the next chunk is being prepared, and the queue stays one chunk long. The same
    checks run either way; only keys_key's initially deferred constraints are switched,
    and switched back (deferred) when the import is done.
    """
    if not _import_streams():
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass "
            "AND contype = 'f' AND condeferred",
            [Key._meta.db_table],
        )
        names = ", ".join(connection.ops.quote_name(name) for (name,) in cursor.fetchall())
        if names:
            cursor.execute(f"SET CONSTRAINTS {names} IMMEDIATE")
    yield  # on an exception the (sub)transaction rolls back, and PostgreSQL restores the modes
    if names:
        with connection.cursor() as cursor:
            cursor.execute(f"SET CONSTRAINTS {names} DEFERRED")


def _chunks(rows: Iterable[tuple[int, str]], size: int) -> Iterator[list[tuple[int, str]]]:
    chunk: list[tuple[int, str]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _import_record(*, report: ImportReport, product, batch, actor) -> KeyImport:
    run = KeyImport.objects.create(
        product=product,
        batch=batch if batch.pk else None,
        source_name=report.source_name[:255],
        actor=actor if actor is not None and actor.is_authenticated else None,
        outcome=KeyImport.Outcome.IMPORTED if report.ok else KeyImport.Outcome.REJECTED,
        lines_read=report.lines_read,
        imported=report.imported,
        bad_lines=report.bad_lines,
    )
    report.import_id = run.pk
    return run


def batch_create_and_import(
    *,
    product,
    supplier,
    cost_per_key,
    currency: str,
    lines: Iterable[str],
    source_name: str,
    reference: str = "",
    expires_on=None,
    actor=None,
    fmt: str = "auto",
) -> tuple[KeyBatch | None, ImportReport]:
    """A new batch and its keys, together or not at all (no empty batch is left behind).

    ``supplier`` is a Supplier, or a name: an unknown name creates the supplier with the
    batch, and a rejected import leaves neither behind.
    """
    with transaction.atomic():
        if isinstance(supplier, str):
            supplier, _created = Supplier.objects.get_or_create(name=supplier.strip())
        batch = KeyBatch.objects.create(
            supplier=supplier,
            product=product,
            cost_per_key=cost_per_key,
            currency=currency,
            reference=reference,
            expires_on=expires_on,
        )
        report = key_import(
            product=product, batch=batch, lines=lines, source_name=source_name, actor=actor, fmt=fmt
        )
        if not report.ok:
            transaction.set_rollback(True)
    if not report.ok:
        # The rejected run's record was rolled back with the batch: keep it, batch-less.
        KeyImport.objects.create(
            product=product,
            batch=None,
            source_name=source_name[:255],
            actor=actor if actor is not None and actor.is_authenticated else None,
            outcome=KeyImport.Outcome.REJECTED,
            lines_read=report.lines_read,
            bad_lines=report.bad_lines,
        )
        return None, report
    return batch, report


# --------------------------------------------------------------------------- rotation


@dataclass
class RotationResult:
    examined: int = 0
    rotated: int = 0
    already_current: int = 0
    failed: list[int] = field(default_factory=list)


@sensitive_variables()  # error reports never show a code
def _ciphertext_batches(*, batch_size: int):
    """Every key's (id, ciphertext), ``batch_size`` rows at a time in id order (bounded
    memory whatever the inventory size; rows added meanwhile are reached too)."""
    last_pk = 0
    while True:
        rows = list(
            Key.objects.filter(pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", "ciphertext")[:batch_size]
        )
        if not rows:
            return
        last_pk = rows[-1][0]
        yield rows


def key_encryption_rotate(*, batch_size: int = 1000, progress=None) -> RotationResult:
    """Re-encrypt every code under the newest key, ``batch_size`` rows per transaction.

    Walks keys by primary key; a code the newest key already decrypts is skipped, so an
    interrupted run simply starts again. Each row is updated only if its ciphertext is still
    the one read (a concurrent rotation cannot overwrite newer work). Unreadable codes are
    listed by id, never shown.
    """
    result = RotationResult()
    for rows in _ciphertext_batches(batch_size=batch_size):
        with transaction.atomic():
            for pk, token in rows:
                result.examined += 1
                if token_is_current(token):
                    result.already_current += 1
                    continue
                try:
                    new_token = token_rotate(token, key_id=pk)
                except KeyDecryptionError:
                    result.failed.append(pk)
                    continue
                result.rotated += Key.objects.filter(pk=pk, ciphertext=token).update(
                    ciphertext=new_token
                )
        if progress is not None:
            progress(result)
    logger.info(
        "key encryption rotation: %d examined, %d rotated, %d unreadable",
        result.examined,
        result.rotated,
        len(result.failed),
    )
    return result


@dataclass
class VerificationResult:
    examined: int = 0
    under_newest_key: int = 0
    under_older_key: int = 0
    failed: int = 0


@sensitive_variables()  # error reports never show a code
def key_encryption_verify(
    *, batch_size: int = 2000, on_failure=None, progress=None
) -> VerificationResult:
    """Decrypt every stored code with the configured KEY_ENCRYPTION_KEYS, changing nothing.

    Run it after restoring a backup or before removing an old key. Streams by primary key
    (``batch_size`` ids and ciphertexts in memory at a time, no plaintext kept); each
    unreadable key's id goes to ``on_failure`` as it is found, so memory stays bounded
    whatever the inventory size.
    """
    result = VerificationResult()
    for rows in _ciphertext_batches(batch_size=batch_size):
        for pk, token in rows:
            result.examined += 1
            if token_is_current(token):
                result.under_newest_key += 1
                continue
            try:
                code_decrypt(token, key_id=pk)
            except KeyDecryptionError:
                result.failed += 1
                if on_failure is not None:
                    on_failure(pk)
                continue
            result.under_older_key += 1
        if progress is not None:
            progress(result)
    logger.info(
        "key encryption verification: %d examined, %d unreadable",
        result.examined,
        result.failed,
    )
    return result


def key_unreadable_report(*, key: Key, context: str) -> None:
    """A stored code could not be decrypted while a customer asked for it: log it (never the
    ciphertext) and alert staff once a day per key, so the customer is contacted."""
    from django.core.cache import cache

    from core.outbox import staff_alert_enqueue

    logger.error("key #%s cannot be decrypted (%s)", key.pk, context)
    if cache.add(f"keys:unreadable-alert:{key.pk}", 1, timeout=24 * 3600):
        try:
            staff_alert_enqueue(
                kind="key_unreadable",
                subject=f"Key #{key.pk} cannot be decrypted",
                body=(
                    f"A customer asked to see key #{key.pk} ({context}) and it could not be "
                    "decrypted with any configured encryption key. Check KEY_ENCRYPTION_KEYS "
                    "and replace the key for the customer."
                ),
            )
        except Exception:  # the alert is best effort; the log line above stands
            logger.exception("staff alert for unreadable key #%s failed", key.pk)
