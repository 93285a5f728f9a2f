"""Celery tasks of the outbox: thin wrappers over :mod:`core.outbox`.

A failed send is not retried through the broker's retry: the message row records when it
is due again and :mod:`core.outbox` schedules a send for then (the sweeper on the beat
schedule is the safety net, and the only retry path when tasks run in-process).
"""

from __future__ import annotations

from celery import shared_task

from .outbox import outbox_send, outbox_send_due


@shared_task(acks_late=True, name="core.tasks.outbox_send_task")
def outbox_send_task(message_id: int) -> str:
    return outbox_send(message_id=message_id)


@shared_task(name="core.tasks.outbox_sweep")
def outbox_sweep_task() -> int:
    return outbox_send_due()
