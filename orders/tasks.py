"""Celery tasks of the orders app: thin wrappers that call one service each.

Every task is idempotent. Retries with backoff go through the broker; without a broker
(tasks run in-process) a failure is left to the periodic sweeper instead of retrying
inline, so a web request never loops on a dead SMTP server.
"""

from __future__ import annotations

import logging

from storefront.celery import app

from . import services
from .gateways import GatewayError

logger = logging.getLogger(__name__)


def _retry_later(task, exc: Exception | None = None, countdown: int = 10):
    if task.request.is_eager or task.request.called_directly:
        return None  # the sweeper re-drives it
    if task.request.retries >= task.max_retries:
        return None
    raise task.retry(exc=exc, countdown=min(countdown * 2**task.request.retries, 900))


@app.task(bind=True, max_retries=8, acks_late=True)
def orders_deliver(self, order_id: str) -> str:
    """Fraud check, then hold or deliver; then send the resulting emails at once."""
    try:
        outcome = services.order_deliver(order_id=order_id)
    except GatewayError as exc:  # risk facts unavailable: try again shortly
        _retry_later(self, exc)
        return "retry"
    for email_id in outcome.email_ids:  # at once (the outbox retries a failure itself)
        services.order_email_send(email_id=email_id)
    return outcome.status


@app.task(acks_late=True)
def orders_email_send(email_id: int) -> str:
    return services.order_email_send(email_id=email_id)


@app.task(acks_late=True)
def orders_webhook_replay_deferred(order_id: str) -> int:
    return services.webhook_events_replay_deferred(order_id=order_id)


@app.task(acks_late=True)
def orders_webhook_process(event_pk: int) -> str:
    return services.webhook_event_process(event_pk=event_pk)


@app.task
def orders_sweep_undelivered(grace_seconds: int | None = None) -> dict:
    result = services.orders_sweep_undelivered(grace_seconds=grace_seconds)
    return result.__dict__


@app.task
def orders_alert_stale_holds() -> int:
    return services.orders_alert_stale_holds()


@app.task
def orders_refund_overdue_backorders() -> int:
    return services.orders_refund_overdue_backorders()
