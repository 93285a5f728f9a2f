"""Celery tasks of outgoing webhooks: thin wrappers over :mod:`webhooks.services`.

A failed attempt is not retried through the broker's retry: the delivery row records when
it is due again and the service schedules a send for then (the sweeper on the beat
schedule is the safety net, and the only retry path when tasks run in-process).
"""

from __future__ import annotations

from celery import shared_task

from .services import webhook_deliveries_send_due, webhook_delivery_send


@shared_task(acks_late=True, name="webhooks.tasks.webhook_delivery_send_task")
def webhook_delivery_send_task(delivery_id: int) -> str:
    return webhook_delivery_send(delivery_id=delivery_id)


@shared_task(name="webhooks.tasks.webhooks_sweep")
def webhooks_sweep_task() -> int:
    return webhook_deliveries_send_due()
