"""Celery tasks of the refunds app: thin wrappers, each calling one service or email.

The periodic ones are named in storefront/celery.py's beat schedule and are idempotent:
an escalation is sent once per claim; a stale claim is closed once.
"""

from __future__ import annotations

import logging

from storefront.celery import app

logger = logging.getLogger(__name__)


@app.task(bind=True, max_retries=8, default_retry_delay=30, acks_late=True)
def claim_customer_notify(self, claim_pk: int, name: str) -> None:
    """Email the customer about their claim (template ``emails/<name>``)."""
    from .notifications import claim_email_send

    try:
        claim_email_send(claim_pk=claim_pk, name=name)
    except Exception as exc:  # SMTP down: retry with backoff
        logger.warning("claim email %s for claim %s failed: %s", name, claim_pk, exc)
        raise self.retry(exc=exc, countdown=min(30 * 2**self.request.retries, 3600))


@app.task(bind=True, max_retries=8, default_retry_delay=30, acks_late=True)
def claims_staff_alert(self, subject: str, body: str) -> None:
    from storefront.emails import staff_alert_send

    try:
        staff_alert_send(subject=subject, body=body)
    except Exception as exc:
        raise self.retry(exc=exc, countdown=min(30 * 2**self.request.retries, 3600))


@app.task(name="refunds.tasks.claims_escalate_due")
def claims_escalate_due() -> int:
    from .services import claims_escalate_due as escalate

    return escalate()


@app.task(name="refunds.tasks.claims_close_stale")
def claims_close_stale() -> int:
    from .services import claims_close_stale as close

    return close()
