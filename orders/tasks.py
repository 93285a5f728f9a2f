"""Celery tasks of the orders app: thin wrappers that call one service each.

Every task is idempotent. Retries with backoff go through the broker; without a broker
(tasks run in-process) a failure is left to the periodic sweeper instead of retrying
inline, so a web request never loops on a dead SMTP server.
"""

from __future__ import annotations

import logging

from config.celery import app

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
    _emails_send(outcome)
    return outcome.status


def _emails_send(outcome: services.DeliveryOutcome) -> None:
    """The emails a delivery run produced, at once (the outbox retries a failure itself)."""
    from core.outbox import outbox_send_leased

    for message in outcome.leased_messages:
        outbox_send_leased(message=message)
    for email_id in outcome.email_ids:
        services.order_email_send(email_id=email_id)


def _deliver_inline(paid: services.PaidNow) -> None:
    """What ``orders_deliver`` does, in the task that confirmed the payment; when the
    gateway cannot be asked for the risk facts now, the delivery task takes over (with
    its retries and backoff)."""
    try:
        outcome = services.order_deliver(order_id=paid.order_id, paid_now=paid.order)
    except GatewayError:
        orders_deliver.apply_async(args=[paid.order_id], countdown=10)
        return
    _emails_send(outcome)


@app.task(acks_late=True)
def orders_email_send(email_id: int) -> str:
    return services.order_email_send(email_id=email_id)


@app.task(acks_late=True)
def orders_webhook_replay_deferred(order_id: str) -> int:
    return services.webhook_events_replay_deferred(order_id=order_id)


@app.task(acks_late=True)
def orders_webhook_process(event_pk: int) -> str:
    """Process a stored gateway event; an order it confirms paid is delivered here, right
    after the payment commits (one task per paid order, not a second hop)."""
    with services.deliveries_inline() as paid:
        status = services.webhook_event_process(event_pk=event_pk)
    for item in paid:
        _deliver_inline(item)
        if item.replay_deferred:  # e.g. a refund that arrived before the payment
            orders_webhook_replay_deferred.delay(item.order_id)
    return status


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
