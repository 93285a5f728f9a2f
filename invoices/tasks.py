"""Celery tasks of the invoices app: thin and idempotent (a re-run never issues twice)."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(bind=True, max_retries=8, acks_late=True, name="invoices.tasks.invoices_issue")
def invoice_issue_task(self, order_id: str) -> str:
    """Kept for messages queued before the delivery issued invoices itself (idempotent)."""
    invoice = services.invoice_issue(order_id=order_id)
    return invoice.display_number if invoice else "not paid"


@shared_task(
    bind=True, max_retries=8, acks_late=True, name="invoices.tasks.invoices_credit_note_issue"
)
def credit_note_issue_task(self, refund_id: int) -> str:
    note = services.credit_note_issue(refund_id=refund_id)
    return note.display_number if note else "nothing to credit"


@shared_task(name="invoices.tasks.invoices_sweep")
def invoices_sweep_task() -> str:
    issued, credited = services.invoices_sweep()
    return f"{issued} invoices, {credited} credit notes"


def credit_note_issue_enqueue(*, refund_id: int) -> None:
    """orders.hooks.refund_succeeded_hooks: runs after the refund committed."""
    credit_note_issue_task.delay(int(refund_id))
