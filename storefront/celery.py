"""The Celery app. Tasks are thin: they parse their arguments and call one service.

Reliability settings live in settings.py (CELERY_*): late acks, re-queue when a worker is
lost, prefetch 1, JSON only, a visibility timeout longer than any countdown. Without a
broker (no REDIS_URL) tasks run in-process, so a laptop needs no services.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storefront.settings")

app = Celery("keystore", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The beat schedule, in code. Each entry names a task that is idempotent.
app.conf.beat_schedule = {
    "core-outbox-sweep": {
        # every email the shop sends: due retries and messages of a worker that died
        "task": "core.tasks.outbox_sweep",
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
    "refunds-close-stale-claims": {
        "task": "refunds.tasks.claims_close_stale",
        "schedule": crontab(minute=5, hour="*"),
    },
}
