"""The VAT report (admin, permission ``invoices.view_vat_report``): per country and rate,
net, VAT and gross of the period's invoices minus its credit notes, with counts, totals and
a CSV; the invoice and credit note lists are read-only."""

import csv
import io
from decimal import Decimal

import pytest
from django.test import Client, TestCase
from django.utils import timezone

from invoices.models import Invoice
from invoices.report import period_for, vat_report_build
from orders.services import order_refund
from tests.staff import staff_login
from tests.staff_perms import staff_with_perms

from .conftest import REGIMES, order_taxed, pay

pytestmark = pytest.mark.django_db


@pytest.fixture
def sales(antimart, shop_fr, win, office):
    def sale(name, products, email):
        regime, treatment, rate, country, company, vat = REGIMES[name]
        return pay(order_taxed(products=products, regime=regime, treatment=treatment, rate=rate,
                               country=country, company=company, vat_number=vat, email=email))  # fmt: skip

    de1 = sale("oss_de", [win], "a@example.de")
    sale("oss_de", [office], "b@example.de")
    sale("domestic_fr", [win], "c@example.fr")
    sale("reverse_charge_de", [win], "d@example.de")
    with TestCase.captureOnCommitCallbacks(execute=True):
        order_refund(order=de1, amount=Decimal("29.90"), reason="claim", reference="CL-1",
                     revoke_keys=False)  # fmt: skip


def test_report_rows_per_country_and_rate_with_credit_notes_negative(sales):
    today = timezone.localdate()
    report = vat_report_build(start=today, end=today)
    rows = {(r.country, r.rate): r for r in report.rows}
    de = rows[("DE", Decimal("19.00"))]
    # 29.90 + 49.90 invoiced, 29.90 credited: 49.90 gross = 41.93 net + 7.97 VAT
    assert (de.net, de.tax, de.gross) == (Decimal("41.93"), Decimal("7.97"), Decimal("49.90"))
    assert (de.invoices, de.credit_notes) == (2, 1)
    fr = rows[("FR", Decimal("20.00"))]
    assert (fr.net, fr.tax, fr.gross, fr.invoices) == (Decimal("24.92"), Decimal("4.98"),
                                                        Decimal("29.90"), 1)  # fmt: skip
    rc = rows[("DE", Decimal("0.00"))]
    assert (rc.tax, rc.gross) == (Decimal("0.00"), Decimal("29.90"))
    (total,) = report.totals
    assert total.gross == Decimal("109.70") and total.tax == Decimal("12.95")
    assert (total.invoices, total.credit_notes) == (4, 1)


def test_a_period_before_the_sales_is_empty(sales):
    start, end = period_for(kind="quarter", year=2020, quarter=1)
    assert (start.isoformat(), end.isoformat()) == ("2020-01-01", "2020-03-31")
    assert vat_report_build(start=start, end=end).rows == []


def test_admin_report_and_csv_need_the_permission(sales):
    today = timezone.localdate()
    query = {"period": "custom", "start": today.isoformat(), "end": today.isoformat()}
    refused = Client()
    staff_login(client=refused, user=staff_with_perms("invoices.view_invoice"))
    assert refused.get("/admin/invoices/invoice/vat-report/", query).status_code == 403
    client = Client()
    staff_login(client=client, user=staff_with_perms("invoices.view_invoice",
                                                     "invoices.view_vat_report",
                                                     email="accountant@example.com"))  # fmt: skip
    page = client.get("/admin/invoices/invoice/vat-report/", query).content.decode()
    assert 'id="vat-report"' in page and "41.93" in page
    response = client.get("/admin/invoices/invoice/vat-report/", {**query, "format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response).decode("utf-8-sig"))))
    assert rows[0] == ["country", "currency", "vat_rate", "net", "vat", "gross", "invoices",
                       "credit_notes"]  # fmt: skip
    assert ["DE", "EUR", "19.00", "41.93", "7.97", "49.90", "2", "1"] in rows
    assert rows[-1][:6] == ["TOTAL", "EUR", "", "96.75", "12.95", "109.70"]


def test_invoice_admin_is_read_only_with_pdf_downloads(sales):
    invoice = Invoice.objects.first()
    client = Client()
    user = staff_with_perms("invoices.view_invoice", "invoices.change_invoice",
                            "invoices.delete_invoice", "invoices.view_creditnote")  # fmt: skip
    staff_login(client=client, user=user)
    listing = client.get("/admin/invoices/invoice/").content.decode()
    assert (
        invoice.display_number in listing
        and f"/admin/invoices/invoice/{invoice.pk}/pdf/" in listing
    )
    change = client.get(f"/admin/invoices/invoice/{invoice.pk}/change/").content.decode()
    assert 'name="_save"' not in change
    assert client.post(f"/admin/invoices/invoice/{invoice.pk}/delete/").status_code == 403
    response = client.get(f"/admin/invoices/invoice/{invoice.pk}/pdf/")
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    assert client.get("/admin/invoices/creditnote/").status_code == 200
