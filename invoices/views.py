"""Invoice and credit note downloads, for whoever may open the order page."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from orders.views import SESSION_KEY

from . import selectors


def _order(request: HttpRequest, number: str):
    access = request.session.get(SESSION_KEY, {})
    order = selectors.order_for_document_viewer(
        number=number,
        user=request.user,
        session_access=access if isinstance(access, dict) else {},
    )
    if order is None:
        raise Http404
    return order


def _pdf_response(document) -> HttpResponse:
    response = HttpResponse(
        selectors.document_pdf(document=document), content_type="application/pdf"
    )
    filename = selectors.document_filename(document=document)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@never_cache
@require_GET
def invoice_pdf(request: HttpRequest, number: str) -> HttpResponse:
    invoice = selectors.invoice_for_order(order=_order(request, number))
    if invoice is None:
        raise Http404
    return _pdf_response(invoice)


@never_cache
@require_GET
def credit_note_pdf(request: HttpRequest, number: str, index: int) -> HttpResponse:
    notes = selectors.credit_notes_for_order(order=_order(request, number))
    if not 1 <= index <= len(notes):
        raise Http404
    return _pdf_response(notes[index - 1])
