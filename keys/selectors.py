"""Key inventory reads. None of them decrypts anything."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from .models import Key, KeyBatch, KeyStatus, KeyView


def _sellable_filter(*, today: date, prefix: str = "") -> Q:
    """Available, in a batch that is not quarantined and not at or past its printed expiry."""
    return (
        Q(**{f"{prefix}status": KeyStatus.AVAILABLE})
        & Q(**{f"{prefix}batch__is_quarantined": False})
        & (
            Q(**{f"{prefix}batch__expires_on__isnull": True})
            | Q(**{f"{prefix}batch__expires_on__gt": today})
        )
    )


def key_sellable_q(*, today: date, prefix: str = "") -> Q:
    """The sellable-key condition, for other apps' stock annotations (``prefix`` reaches
    keys through a relation, e.g. ``"keys__"``)."""
    return _sellable_filter(today=today, prefix=prefix)


def key_allocatable(*, product_id: int) -> QuerySet[Key]:
    """Keys that may be sold now, oldest batch first (FIFO), then oldest key."""
    return Key.objects.filter(
        _sellable_filter(today=timezone.localdate()), product_id=product_id
    ).order_by("batch__received_at", "batch_id", "id")


def key_available_counts(*, product_ids: list[int]) -> dict[int, int]:
    """Sellable keys per product, in one GROUP BY query. Products with none are absent."""
    if not product_ids:
        return {}
    rows = (
        Key.objects.filter(_sellable_filter(today=timezone.localdate()), product_id__in=product_ids)
        .values("product_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["product_id"]: row["n"] for row in rows}


def keys_for_order(*, order) -> QuerySet[Key]:
    return (
        Key.objects.filter(order_line__order=order)
        .select_related("product", "order_line")
        .order_by("order_line_id", "id")
    )


def key_views_for_key(*, key: Key) -> QuerySet[KeyView]:
    return KeyView.objects.filter(key=key).select_related("user").order_by("created_at", "id")


def key_was_disclosed(*, key: Key) -> bool:
    """Whether the code was ever decrypted for anyone (customer, email or staff)."""
    return key.first_viewed_at is not None or KeyView.objects.filter(key_id=key.pk).exists()


def batch_list_with_stats(*, queryset: QuerySet[KeyBatch] | None = None) -> QuerySet[KeyBatch]:
    """Batches annotated with received, sold, reserved, defective and sellable counts.

    * received: every key of the batch;
    * sold: keys that went to a customer (on an order line, not just reserved), including
      ones later revoked or found defective, and replacements;
    * defective: keys marked defective (by a verified claim or by staff);
    * defect rate (``batch_defect_rate``) = defective / received.
    """
    qs = queryset if queryset is not None else KeyBatch.objects.all()
    return qs.select_related("supplier", "product").annotate(
        received=Count("keys"),
        sold=Count(
            "keys",
            filter=Q(keys__order_line__isnull=False) & ~Q(keys__status=KeyStatus.RESERVED),
        ),
        reserved=Count("keys", filter=Q(keys__status=KeyStatus.RESERVED)),
        defective=Count("keys", filter=Q(keys__status=KeyStatus.DEFECTIVE)),
        unsold=Count("keys", filter=Q(keys__status=KeyStatus.AVAILABLE)),
    )


def supplier_defect_rate_by_month(*, supplier_id: int, tz) -> list[dict]:
    """Per calendar month (in ``tz``) of delivery: keys of the supplier sold then, how many
    of them are now confirmed defective, and the rate in percent. One query."""
    from django.db.models.functions import TruncMonth

    rows = (
        Key.objects.filter(
            batch__supplier_id=supplier_id, order_line__isnull=False, delivered_at__isnull=False
        )
        .exclude(status=KeyStatus.RESERVED)
        .annotate(month=TruncMonth("delivered_at", tzinfo=tz))
        .values("month")
        .annotate(sold=Count("id"), defective=Count("id", filter=Q(status=KeyStatus.DEFECTIVE)))
        .order_by("month")
    )
    return [
        {**row, "rate": round(row["defective"] * 100 / row["sold"], 1) if row["sold"] else 0.0}
        for row in rows
    ]


def batch_defect_rate(*, received: int, defective: int) -> float:
    return (defective / received) if received else 0.0
