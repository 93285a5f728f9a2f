from django.urls import path

from . import views

app_name = "invoices"

urlpatterns = [
    path("<str:number>/invoice.pdf", views.invoice_pdf, name="invoice_pdf"),
    path(
        "<str:number>/credit-notes/<int:index>.pdf",
        views.credit_note_pdf,
        name="credit_note_pdf",
    ),
]
