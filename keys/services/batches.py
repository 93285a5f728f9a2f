"""Batch quarantine (by staff or automatically on a supplier's defect rate) and its lift."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from core.outbox import staff_alert_enqueue
from webhooks.services import webhook_event_emit

from ..models import Key, KeyBatch, KeyBatchEvent, KeyStatus
from .stock_schedule import stock_check_on_commit

S = KeyStatus


def batch_quarantine(*, batch: KeyBatch, reason: str, actor, data: dict | None = None) -> KeyBatch:
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
                batch=locked,
                actor=actor,
                kind=KeyBatchEvent.Kind.QUARANTINED,
                reason=reason,
                data=data or {},
            )
            stock_check_on_commit(product_ids=[locked.product_id])
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
                batch=locked, actor=actor, kind=KeyBatchEvent.Kind.RELEASED, reason=reason
            )
            stock_check_on_commit(product_ids=[locked.product_id])
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
    batch_quarantine(
        batch=batch,
        reason=reason,
        actor=None,
        data={
            "automatic": True,
            "defective": defective,
            "sold": sold,
            "threshold_percent": supplier.defect_quarantine_percent,
            "min_sample": supplier.defect_min_sample,
        },
    )
    assert batch.quarantined_at is not None  # batch_quarantine set it (or found it set)
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
