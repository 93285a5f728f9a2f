"""Low-stock alerts: staff are told once per crossing below a product's threshold."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.models import Product
from core.outbox import staff_alert_enqueue
from webhooks.services import webhook_event_emit

from ..models import ProductStockAlert
from ..selectors import key_available_counts


def stock_alert_check(*, product_id: int) -> bool:
    """Email staff once when a product's sellable stock crosses to or below its threshold.

    Re-arms when stock is back above the threshold. Safe to run any number of times and
    concurrently: the crossing is one conditional UPDATE, and the alert is written to the
    outbox (one staff digest per burst) under a row lock only while ``notified_at`` is
    empty. Returns whether an alert was raised.
    """
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
