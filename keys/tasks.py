"""Key inventory tasks: thin wrappers that call one service."""

from __future__ import annotations

from celery import shared_task

from .services.stock import stock_alert_check


@shared_task(
    name="keys.tasks.keys_stock_check",  # the registered name queued messages carry
    acks_late=True,
    autoretry_for=(OSError,),  # SMTP down: the alert row stays un-notified; try again
    retry_backoff=60,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
)
def keys_stock_check_task(product_id: int) -> bool:
    """Alert staff once per crossing below a product's low-stock threshold (idempotent)."""
    return stock_alert_check(product_id=product_id)
