"""Celery tasks of the refunds app: thin wrappers, each calling one service or email.

The periodic ones are named in config/celery.py's beat schedule and are idempotent:
an escalation is sent once per claim; a stale claim is closed once. Registered names stay
those of the functions they were before (``refunds.tasks.<old name>``), so messages already
queued and the beat schedule keep working. A database that is briefly unreachable is
retried by Celery with backoff (every task here is safe to run again).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

from celery import shared_task
from django.db import OperationalError, transaction

from core.outbox import staff_alert_enqueue

from .models import Claim
from .notifications import claim_email_enqueue
from .services import claims_close_stale, claims_escalate_due


class _RetryOptions(TypedDict):
    """shared_task's retry options (typed, so the decorator's overloads match them)."""

    autoretry_for: Sequence[type[BaseException]]
    retry_backoff: bool
    retry_backoff_max: int
    retry_jitter: bool
    max_retries: int


RETRY: _RetryOptions = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 5,
}

# Emails no longer go through tasks of their own (core's outbox sends them). These two
# remain for messages queued before the outbox existed: they write to the outbox, keyed so
# that a redelivery cannot send twice.


@shared_task(name="refunds.tasks.claim_customer_notify", acks_late=True, **RETRY)
def claim_customer_notify_task(claim_pk: int, name: str) -> None:
    """Queue the customer's claim email (template ``emails/<name>``) in the outbox."""
    with transaction.atomic():
        claim_email_enqueue(claim=Claim.objects.get(pk=claim_pk), name=name)


@shared_task(name="refunds.tasks.claims_staff_alert", acks_late=True, **RETRY)
def claims_staff_alert_task(subject: str, body: str) -> None:
    staff_alert_enqueue(kind="claim", subject=subject, body=body)


@shared_task(name="refunds.tasks.claims_escalate_due", **RETRY)
def claims_escalate_due_task() -> int:
    return claims_escalate_due()


@shared_task(name="refunds.tasks.claims_close_stale", **RETRY)
def claims_close_stale_task() -> int:
    return claims_close_stale()
