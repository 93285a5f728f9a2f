from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InvoicesConfig(AppConfig):
    name = "invoices"
    verbose_name = _("Invoices and credit notes")

    def ready(self) -> None:
        # orders tells us (after commit) that an order was paid or a refund succeeded;
        # the delivery email carries the invoice PDF (core's outbox asks for attachments).
        from core.outbox import outbox_attachments_register
        from orders.hooks import hook_register, order_paid_hooks, refund_succeeded_hooks

        from .delivery import delivery_email_attachments
        from .tasks import credit_note_issue_enqueue, invoice_issue_enqueue

        hook_register(registry=order_paid_hooks, hook=invoice_issue_enqueue)
        hook_register(registry=refund_succeeded_hooks, hook=credit_note_issue_enqueue)
        outbox_attachments_register("orders.email", delivery_email_attachments)
