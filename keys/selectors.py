"""Key inventory reads. None of them decrypts anything."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, TruncMonth
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


def key_batches_allocatable(*, product_id: Any, today: Any = None) -> QuerySet[KeyBatch]:
    """The product's sellable batches that still hold an available key, FIFO (oldest
    received first, then oldest batch). Allocation takes keys batch by batch in this
    order, so it never sorts the product's whole stock (``key_allocatable`` does: a
    product with 200,000 keys on the shelf paid 212 ms per sale for that sort). The stock
    probe is one step on the partial index of available keys (product, batch, id).
    ``today``: the local date (default), or a placeholder (``core.prepared.Param``)."""
    today = timezone.localdate() if today is None else today
    in_stock = Key.objects.filter(
        product_id=product_id, batch_id=OuterRef("pk"), status=KeyStatus.AVAILABLE
    )
    return KeyBatch.objects.filter(
        Q(expires_on__isnull=True) | Q(expires_on__gt=today),
        Exists(in_stock),
        product_id=product_id,
        is_quarantined=False,
    ).order_by("received_at", "id")


def key_available_in_batch(*, product_id: Any, batch_id: int | Subquery) -> QuerySet[Key]:
    """The batch's available keys, oldest first: read in index order from the partial
    index of available keys (product, batch, id), no sort."""
    return Key.objects.filter(
        Q(batch_id=batch_id),  # a Q: the stubs type batch_id as a key or an id only
        product_id=product_id,
        status=KeyStatus.AVAILABLE,
    ).order_by("product_id", "batch_id", "id")  # the index's own order (one batch: by id)


def key_available_counts(*, product_ids: list[int]) -> dict[int, int]:
    """Sellable keys per product, in one GROUP BY query. Products with none are absent."""
    if not product_ids:
        return {}
    # The sellable batches of these products first (the batch table's product index), then
    # the keys of those batches straight from the partial index on available keys
    # (product, batch, id), an index-only count. Joining every key to its batch instead
    # made PostgreSQL hash the whole batch table for a product with a large stock
    # (15.7 ms against 2.1 ms for 5,000 keys at 10,000 products; bench/README.md).
    today = timezone.localdate()
    batches = KeyBatch.objects.filter(
        Q(expires_on__isnull=True) | Q(expires_on__gt=today),
        product_id__in=product_ids,
        is_quarantined=False,
    ).values("pk")
    rows = (
        Key.objects.filter(
            status=KeyStatus.AVAILABLE, product_id__in=product_ids, batch_id__in=batches
        )
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


def keys_for_orders(*, order_ids: list) -> QuerySet[Key]:
    """The keys of several orders in one query (My Account's page of orders)."""
    if not order_ids:
        return Key.objects.none()
    return (
        Key.objects.filter(order_line__order_id__in=order_ids)
        .select_related("product", "order_line")
        .order_by("order_line_id", "id")
    )


def key_views_for_key(*, key: Key) -> QuerySet[KeyView]:
    return KeyView.objects.filter(key=key).select_related("user").order_by("created_at", "id")


def key_was_disclosed(*, key: Key) -> bool:
    """Whether the code was ever decrypted for anyone (customer, email or staff)."""
    return key.first_viewed_at is not None or KeyView.objects.filter(key_id=key.pk).exists()


def batch_list_with_stats(
    *, queryset: QuerySet[KeyBatch] | None = None, select: bool = True
) -> QuerySet[KeyBatch]:
    """Batches annotated with received, sold, reserved, defective and sellable counts.

    * received: every key of the batch;
    * sold: keys that went to a customer (on an order line, not just reserved), including
      ones later revoked or found defective, and replacements;
    * defective: keys marked defective (by a verified claim or by staff);
    * defect rate (``batch_defect_rate``) = defective / received.

    Each count is a correlated subquery on the key table's (batch, status) index, so a
    page of batches costs what its rows cost: a GROUP BY over the join would count every
    key of every batch before the page is cut (the admin list at 20,000 batches).
    ``select=False`` only names the counts (``QuerySet.alias``): a list may sort by them
    and nothing is counted unless it does (the admin list reads its page's counts with
    ``batch_stats_get``).
    """
    qs = queryset if queryset is not None else KeyBatch.objects.all()

    def keys_counted(condition: Q | None = None) -> Coalesce:
        keys = Key.objects.filter(batch_id=OuterRef("pk"))
        if condition is not None:
            keys = keys.filter(condition)
        # COUNT(*): read from the (batch, status) index including order_line, no heap
        counted = keys.order_by().values("batch_id").annotate(n=Count("*")).values("n")
        return Coalesce(Subquery(counted, output_field=IntegerField()), 0)

    counts = {
        "received": keys_counted(),
        "sold": keys_counted(Q(order_line__isnull=False) & ~Q(status=KeyStatus.RESERVED)),
        "reserved": keys_counted(Q(status=KeyStatus.RESERVED)),
        "defective": keys_counted(Q(status=KeyStatus.DEFECTIVE)),
        "unsold": keys_counted(Q(status=KeyStatus.AVAILABLE)),
    }
    qs = qs.select_related("supplier", "product")
    return qs.annotate(**counts) if select else qs.alias(**counts)


@dataclass(frozen=True)
class BatchStats:
    """A batch's key counts, as ``batch_list_with_stats`` defines them."""

    received: int = 0
    sold: int = 0
    reserved: int = 0
    defective: int = 0
    unsold: int = 0


def batch_stats_get(*, batch_ids: Collection[int]) -> dict[int, BatchStats]:
    """The counts of ``batch_list_with_stats`` for these batches, in one query: their keys
    grouped by batch, status and whether they are on an order line, read from the
    (batch, status) index that includes ``order_line`` (index only). A batch without
    keys maps to zeros."""
    if not batch_ids:
        return {}
    rows = (
        Key.objects.filter(batch_id__in=batch_ids)
        .values("batch_id", "status")
        .annotate(n=Count("*"), on_line=Count("order_line"))
        .order_by()
    )
    totals: dict[int, dict[str, int]] = {
        pk: dict.fromkeys(("received", "sold", "reserved", "defective", "unsold"), 0)
        for pk in batch_ids
    }
    by_status = {KeyStatus.RESERVED: "reserved", KeyStatus.DEFECTIVE: "defective",
                 KeyStatus.AVAILABLE: "unsold"}  # fmt: skip
    for row in rows:
        counts = totals[row["batch_id"]]
        counts["received"] += row["n"]
        if row["status"] != KeyStatus.RESERVED:
            counts["sold"] += row["on_line"]
        if row["status"] in by_status:
            counts[by_status[row["status"]]] += row["n"]
    return {pk: BatchStats(**counts) for pk, counts in totals.items()}


def supplier_defect_rate_by_month(*, supplier_id: int, tz) -> list[dict]:
    """Per calendar month (in ``tz``) of delivery: keys of the supplier sold then, how many
    of them are now confirmed defective, and the rate in percent. One query."""
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
