"""Celery tasks of the refunds app: thin wrappers, each calling one service or email.

The periodic ones are named in config/celery.py's beat schedule and are idempotent:
an escalation is sent once per claim; a stale claim is closed once.
"""

from __future__ import annotations

import logging

from config.celery import app

logger = logging.getLogger(__name__)


# Emails no longer go through tasks of their own (core's outbox sends them). These two
# remain for messages queued before the outbox existed: they write to the outbox, keyed so
# that a redelivery cannot send twice.


@app.task(acks_late=True)
def claim_customer_notify(claim_pk: int, name: str) -> None:
    """Queue the customer's claim email (template ``emails/<name>``) in the outbox."""
    from django.db import transaction

    from .models import Claim
    from .notifications import claim_email_enqueue

    with transaction.atomic():
        claim_email_enqueue(claim=Claim.objects.get(pk=claim_pk), name=name)


@app.task(acks_late=True)
def claims_staff_alert(subject: str, body: str) -> None:
    from core.outbox import staff_alert_enqueue

    staff_alert_enqueue(kind="claim", subject=subject, body=body)


@app.task(name="refunds.tasks.claims_escalate_due")
def claims_escalate_due() -> int:
    from .services import claims_escalate_due as escalate

    return escalate()


@app.task(name="refunds.tasks.claims_close_stale")
def claims_close_stale() -> int:
    from .services import claims_close_stale as close

    return close()
