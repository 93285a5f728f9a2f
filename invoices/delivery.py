"""The invoice PDF attached to an order's key email (core's outbox asks at send time)."""

from __future__ import annotations

from core.outbox import Attachment
from orders.models import OrderEmail, OrderEmailKind

from .selectors import document_filename, document_pdf
from .services import invoice_issue

ATTACH_TO = (OrderEmailKind.DELIVERY, OrderEmailKind.RESEND)


def delivery_email_attachments(*, message) -> list[Attachment]:
    """The order's invoice for its delivery (and resent) email: the one the delivery that
    wrote the message issued, handed over in memory; else read, or issued now if it is
    missing (issuing is idempotent), so the first email has it."""
    email_id = (message.context or {}).get("order_email_id")
    if email_id is None:
        return []
    prefetched = getattr(message, "prefetched", None) or {}
    email = prefetched.get("email")
    invoice = prefetched.get("invoice")
    if email is None or email.pk != email_id or invoice is None:
        email = OrderEmail.objects.filter(pk=email_id).only("order_id", "kind").first()
        invoice = None
    if email is None or email.kind not in ATTACH_TO:
        return []
    if invoice is None:
        invoice = invoice_issue(order_id=email.order_id)
    if invoice is None:
        return []
    return [
        Attachment(
            filename=document_filename(document=invoice),
            content=document_pdf(document=invoice),
            mimetype="application/pdf",
        )
    ]
