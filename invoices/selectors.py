"""Reads of invoices and credit notes: who may download which document, and their PDFs."""

from __future__ import annotations

from typing import Any

from orders.models import Order
from orders.selectors import number_normalize, order_get_for_viewer

from .models import CreditNote, Invoice
from .pdf import document_pdf_render

STAFF_PERMISSION = "invoices.view_invoice"


def order_for_document_viewer(
    *, number: str, user: Any, session_access: dict[str, str]
) -> Order | None:
    """The order whose documents this visitor may download: exactly who may open the order
    page (its owner, the browser that paid or tracked it), or staff who may view invoices."""
    found = order_get_for_viewer(number=number, user=user, session_access=session_access)
    if found is not None:
        return found[0]
    if getattr(user, "is_staff", False) and user.has_perm(STAFF_PERMISSION):
        return Order.objects.filter(number=number_normalize(number)).first()
    return None


def invoice_for_order(*, order: Order) -> Invoice | None:
    return Invoice.objects.filter(order=order).first()


def credit_notes_for_order(*, order: Order) -> list[CreditNote]:
    """The order's credit notes, oldest first (the n of ``credit-notes/<n>.pdf``)."""
    return list(CreditNote.objects.filter(invoice__order=order).order_by("issued_at", "id"))


def document_pdf(*, document: Invoice | CreditNote) -> bytes:
    return document_pdf_render(snapshot=document.snapshot)


def document_filename(*, document: Invoice | CreditNote) -> str:
    return f"{document.display_number}.pdf"
