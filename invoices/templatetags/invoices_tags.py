"""``{% order_documents order %}``: the invoice and credit note download links of an order
(order page, tracking, My Account). ``compact=True`` shows only the invoice link and runs
no query (a list of orders stays at a fixed number of queries)."""

from __future__ import annotations

from django import template

from invoices.selectors import credit_notes_for_order, invoice_for_order

register = template.Library()


@register.inclusion_tag("invoices/_order_documents.html")
def order_documents(order, compact: bool = False) -> dict:
    if order is None or order.paid_at is None:
        return {"order": order, "show": False}
    if compact:
        return {"order": order, "show": True, "invoice": True, "credit_notes": []}
    invoice = invoice_for_order(order=order)
    notes = credit_notes_for_order(order=order) if invoice else []
    return {
        "order": order,
        "show": invoice is not None,
        "invoice": invoice,
        "credit_notes": [(index, note) for index, note in enumerate(notes, start=1)],
    }
