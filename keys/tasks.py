"""Key inventory tasks: thin wrappers that call one service."""

from config.celery import app

from . import services


@app.task(bind=True, max_retries=5, default_retry_delay=60, acks_late=True)
def keys_stock_check(self, product_id: int) -> bool:
    """Alert staff once per crossing below a product's low-stock threshold (idempotent)."""
    try:
        return services.stock_alert_check(product_id=product_id)
    except OSError as exc:  # SMTP down: the alert row stays un-notified; try again
        raise self.retry(exc=exc)
