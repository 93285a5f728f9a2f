"""Invoice and credit note PDFs download for exactly who may open the order page: its
owner, the browser that tracked it (number + email), staff allowed to view invoices; no one
else. The links show on the order page, My Account and after tracking."""

import io
from decimal import Decimal

import pytest
from django.test import Client, TestCase
from pypdf import PdfReader

from invoices.models import CreditNote, Invoice
from tests.factories import UserFactory
from tests.staff import staff_login
from tests.staff_perms import staff_with_perms

from .conftest import order_taxed, pay

pytestmark = pytest.mark.django_db


@pytest.fixture
def owned(antimart, shop_fr, win):
    owner = UserFactory(email="owner@example.com")
    order = order_taxed(products=[win], regime="eu_oss", treatment="oss", rate="19.00",
                        country="DE", email=owner.email)  # fmt: skip
    order.user = owner
    order.save(update_fields=["user"])
    return owner, pay(order)


def pdf_text(response) -> str:
    assert response["Content-Type"] == "application/pdf"
    assert "attachment;" in response["Content-Disposition"]
    data = b"".join(response) if response.streaming else response.content
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def test_the_owner_downloads_the_invoice_from_the_order_page_and_my_account(client, owned):
    owner, order = owned
    invoice = Invoice.objects.get(order=order)
    client.force_login(owner)
    url = f"/orders/{order.number}/invoice.pdf"
    page = client.get(f"/orders/o/{order.number}/").content.decode()
    assert url in page and invoice.display_number in page
    assert url in client.get("/account/").content.decode()
    text = pdf_text(client.get(url))
    assert invoice.display_number in text and "Germany (DE)" in text and "19 %" in text


def test_a_stranger_and_another_customer_get_404(client, owned):
    _owner, order = owned
    url = f"/orders/{order.number}/invoice.pdf"
    assert client.get(url).status_code == 404
    client.force_login(UserFactory(email="mallory@example.com"))
    assert client.get(url).status_code == 404
    assert client.get(f"/orders/{order.number}/credit-notes/1.pdf").status_code == 404


def test_tracking_by_number_and_email_opens_the_invoice(owned):
    _owner, order = owned
    browser = Client()
    response = browser.post("/orders/track/", {"number": order.number, "email": order.email})
    assert response.status_code == 302
    assert (
        f"/orders/{order.number}/invoice.pdf" in browser.get(response["Location"]).content.decode()
    )
    assert browser.get(f"/orders/{order.number}/invoice.pdf").status_code == 200


def test_staff_need_the_invoice_permission(client, owned):
    _owner, order = owned
    url = f"/orders/{order.number}/invoice.pdf"
    staff_login(client=client, user=staff_with_perms("orders.view_order"))
    assert client.get(url).status_code == 404
    other = Client()
    staff_login(
        client=other, user=staff_with_perms("invoices.view_invoice", email="acc@example.com")
    )
    assert other.get(url).status_code == 200


def test_credit_notes_are_numbered_per_order_and_downloadable(client, owned):
    from orders.services import order_refund

    owner, order = owned
    with TestCase.captureOnCommitCallbacks(execute=True):
        order_refund(order=order, amount=Decimal("5.00"), reason="claim", reference="CL-A",
                     revoke_keys=False)  # fmt: skip
    with TestCase.captureOnCommitCallbacks(execute=True):
        order_refund(order=order, amount=Decimal("4.00"), reason="claim", reference="CL-B",
                     revoke_keys=False)  # fmt: skip
    first, second = CreditNote.objects.filter(invoice__order=order).order_by("id")
    client.force_login(owner)
    page = client.get(f"/orders/o/{order.number}/").content.decode()
    assert f"/orders/{order.number}/credit-notes/2.pdf" in page
    text = pdf_text(client.get(f"/orders/{order.number}/credit-notes/2.pdf"))
    assert second.display_number in text and "-4.00" in text
    assert Invoice.objects.get(order=order).display_number in text
    assert client.get(f"/orders/{order.number}/credit-notes/3.pdf").status_code == 404
    assert first.gross_total == Decimal("5.00")
