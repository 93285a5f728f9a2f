"""The Celery app. Tasks are thin: they parse their arguments and call one service.

Reliability settings live in settings.py (CELERY_*): late acks, re-queue when a worker is
lost, prefetch 1, JSON only, a visibility timeout longer than any countdown. Without a
broker (no REDIS_URL) tasks run in-process, so a laptop needs no services.
"""

import os
import sys

import django
from celery import Celery, signals
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("keystore", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
@signals.beat_init.connect
def _refuse_unsafe_configuration(**kwargs) -> None:
    """Production and staging workers and beat refuse to start on an unsafe configuration,
    naming every failing check (core/checks.py); SystemExit gets past Celery's signal guard."""
    django.setup()
    from core.checks import startup_checks_run  # deferred: needs the apps that setup() loads

    try:
        startup_checks_run()
    except ImproperlyConfigured as error:
        print(error, file=sys.__stderr__, flush=True)  # Celery may have redirected stderr
        raise SystemExit(1) from None


# The beat schedule, in code. Each entry names a task that is idempotent.
app.conf.beat_schedule = {
    "core-outbox-sweep": {
        # every email the shop sends: due retries and messages of a worker that died
        "task": "core.tasks.outbox_sweep",  # outbox_sweep_task
        "schedule": 30.0,
    },
    "webhooks-sweep": {
        # outgoing webhooks: due retries and deliveries of a worker that died
        "task": "webhooks.tasks.webhooks_sweep",  # webhooks_sweep_task
        "schedule": 30.0,
    },
    "orders-sweep-undelivered": {
        "task": "orders.tasks.orders_sweep_undelivered",
        "schedule": 60.0,
    },
    "orders-alert-stale-holds": {
        "task": "orders.tasks.orders_alert_stale_holds",
        "schedule": crontab(minute="*/15"),
    },
    "orders-refund-overdue-backorders": {
        "task": "orders.tasks.orders_refund_overdue_backorders",
        "schedule": crontab(minute="*/10"),
    },
    "refunds-escalate-due-verifications": {
        "task": "refunds.tasks.claims_escalate_due",
        "schedule": crontab(minute="*/15"),
    },
    "invoices-sweep": {
        # a paid order without its invoice, a succeeded refund without its credit note
        "task": "invoices.tasks.invoices_sweep",  # invoices_sweep_task
        "schedule": crontab(minute="*/5"),
    },
    "refunds-close-stale-claims": {
        "task": "refunds.tasks.claims_close_stale",
        "schedule": crontab(minute=5, hour="*"),
    },
}
