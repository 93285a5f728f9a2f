from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InvoicesConfig(AppConfig):
    name = "invoices"
    verbose_name = _("Invoices and credit notes")

    def ready(self) -> None:
        # A paid order's delivery issues its invoice in its own transaction (no task of
        # its own; the sweeper issues what a lost delivery left out); orders tells us
        # (after commit) that a refund succeeded; the delivery email carries the invoice
        # PDF (core's outbox asks for attachments).
        from core.outbox import outbox_attachments_register
        from orders.hooks import hook_register, order_delivery_hooks, refund_succeeded_hooks

        from .delivery import delivery_email_attachments
        from .services import invoice_issue_for_delivery
        from .tasks import credit_note_issue_enqueue

        hook_register(registry=order_delivery_hooks, hook=invoice_issue_for_delivery)
        hook_register(registry=refund_succeeded_hooks, hook=credit_note_issue_enqueue)
        outbox_attachments_register("orders.email", delivery_email_attachments)
