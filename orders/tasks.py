"""Celery tasks of the orders app: thin wrappers that call one service each.

Every task is idempotent and keeps the name it was registered under (in-flight messages
and the beat schedule in ``config.celery`` name them). Retries with backoff go through
the broker (``autoretry_for``); without a broker (tasks run in-process) a failure is left
to the periodic sweeper instead of retrying inline, so a web request never loops on a
dead gateway.

The services enqueue these tasks by function (``orders.services`` imports this module,
which reads the services' modules only when a task runs: ``from . import services``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, ParamSpec, TypeVar, cast

from celery import shared_task

from core.outbox import outbox_send_leased
from core.versioned_cache import versioned_cache_scope

from . import services
from .gateways import GatewayError

if TYPE_CHECKING:
    from celery import Task
    from celery.contrib.django.task import DjangoTask

logger = logging.getLogger(__name__)

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _django_task_typed(task: Task[_P, _R]) -> DjangoTask[_P, _R]:
    """``task`` as what it is: the app's task class is ``DjangoTask`` (``task_cls`` in
    ``config.celery``), which adds ``delay_on_commit``. The Celery stubs type
    ``shared_task`` as returning a plain ``Task``; this changes nothing at run time."""
    return cast("DjangoTask[_P, _R]", task)


@_django_task_typed
@shared_task(
    bind=True,
    name="orders.tasks.orders_deliver",
    acks_late=True,
    autoretry_for=(GatewayError,),
    retry_backoff=10,
    retry_backoff_max=900,
    retry_jitter=True,
    max_retries=8,
)
def order_deliver_task(self, order_id: str) -> str:
    """Fraud check, then hold or deliver; then send the resulting emails at once. When the
    gateway cannot give the risk facts, the broker retries with backoff."""
    try:
        outcome = services.order_deliver(order_id=order_id)
    except GatewayError:
        if self.request.is_eager or self.request.called_directly:
            return "retry"  # no broker: the sweeper re-drives it
        raise
    _emails_send(outcome)
    return outcome.status


def _emails_send(outcome: services.DeliveryOutcome) -> None:
    """The emails a delivery run produced, at once (the outbox retries a failure itself)."""
    for message in outcome.leased_messages:
        outbox_send_leased(message=message)
    for email_id in outcome.email_ids:
        services.order_email_send(email_id=email_id)


def _deliver_inline(paid: services.PaidNow) -> None:
    """What ``order_deliver_task`` does, in the task that confirmed the payment; when the
    gateway cannot be asked for the risk facts now, the delivery task takes over (with
    its retries and backoff)."""
    try:
        outcome = services.order_deliver(order_id=paid.order_id, paid_now=paid.order)
    except GatewayError:
        order_deliver_task.apply_async(args=(paid.order_id,), countdown=10)
        return
    _emails_send(outcome)


@shared_task(name="orders.tasks.orders_email_send", acks_late=True)
def order_email_send_task(email_id: int) -> str:
    return services.order_email_send(email_id=email_id)


@_django_task_typed
@shared_task(name="orders.tasks.orders_webhook_replay_deferred", acks_late=True)
def webhook_events_replay_deferred_task(order_id: str) -> int:
    return services.webhook_events_replay_deferred(order_id=order_id)


@shared_task(name="orders.tasks.orders_webhook_process", acks_late=True)
def webhook_event_process_task(event_pk: int) -> str:
    """Process a stored gateway event; an order it confirms paid is delivered here, right
    after the payment commits (one task per paid order, not a second hop). The cached
    reads' version tokens are read once for the whole task (one Redis round trip)."""
    with versioned_cache_scope():
        with services.deliveries_inline() as paid:
            status = services.webhook_event_process(event_pk=event_pk)
        for item in paid:
            _deliver_inline(item)
            if item.replay_deferred:  # e.g. a refund that arrived before the payment
                webhook_events_replay_deferred_task.delay(item.order_id)
    return status


@shared_task(name="orders.tasks.orders_sweep_undelivered")
def orders_sweep_undelivered_task(grace_seconds: int | None = None) -> dict:
    result = services.orders_sweep_undelivered(grace_seconds=grace_seconds)
    return result.__dict__


@shared_task(name="orders.tasks.orders_alert_stale_holds")
def orders_alert_stale_holds_task() -> int:
    return services.orders_alert_stale_holds()


@shared_task(name="orders.tasks.orders_refund_overdue_backorders")
def orders_refund_overdue_backorders_task() -> int:
    return services.orders_refund_overdue_backorders()
