"""An invoice is issued once when an order is paid, numbered in its series, immutable,
with the fields and totals each tax regime asks for."""

from decimal import Decimal

import pytest
from django.core import mail

from invoices.models import ImmutableDocumentError, Invoice
from invoices.pdf import document_qr_payload
from invoices.services import invoice_issue
from invoices.zatca import zatca_tlv_decode
from orders.models import OrderLine

from .conftest import REGIMES, order_taxed, pay

pytestmark = pytest.mark.django_db


def paid_order(regime_name, products, **kwargs):
    regime, treatment, rate, country, company, vat = REGIMES[regime_name]
    order = order_taxed(products=products, regime=regime, treatment=treatment, rate=rate,
                        country=country, company=company, vat_number=vat, **kwargs)  # fmt: skip
    return pay(order)


def test_paying_issues_one_invoice_numbered_in_the_shop_series(antimart, shop_fr, win):
    order = paid_order("domestic_fr", [win])
    invoice = Invoice.objects.get(order=order)
    year = order.paid_at.year
    assert invoice.display_number == f"AKM-{year}-000001"
    assert (invoice.series, invoice.number) == (f"AKM-{year}", 1)
    # running the issue again (a retried task) returns the same invoice
    assert invoice_issue(order_id=order.pk) == invoice
    assert Invoice.objects.filter(order=order).count() == 1
    second = paid_order("domestic_fr", [win], email="other@example.com")
    assert Invoice.objects.get(order=second).number == 2
    assert order.events.filter(kind="invoice").count() == 1


def test_an_unpaid_order_gets_no_invoice(antimart, shop_fr, win):
    order = order_taxed(products=[win], regime="eu_oss", treatment="domestic", rate="20.00",
                        country="FR")  # fmt: skip
    assert invoice_issue(order_id=order.pk) is None
    assert not Invoice.objects.exists()


def test_an_issued_invoice_cannot_change_or_be_deleted(antimart, shop_fr, win):
    invoice = Invoice.objects.get(order=paid_order("domestic_fr", [win]))
    invoice.snapshot["totals"]["gross"] = "0.00"
    with pytest.raises(ImmutableDocumentError):
        invoice.save()
    with pytest.raises(ImmutableDocumentError):
        invoice.delete()
    invoice.refresh_from_db()
    assert invoice.snapshot["totals"]["gross"] == "29.90"


def test_the_snapshot_does_not_follow_later_changes(antimart, shop_fr, win):
    from core.identity import shop_identity_update

    invoice = Invoice.objects.get(order=paid_order("domestic_fr", [win]))
    shop_identity_update(legal_name="Renamed SAS")
    OrderLine.objects.filter(order=invoice.order).update(product_name="Renamed product")
    invoice.refresh_from_db()
    assert invoice.snapshot["seller"]["legal_name"] == "AllKeyMasters SAS"
    assert invoice.snapshot["lines"][0]["description"] == "Windows 11 Pro"


def _totals_are_sums_of_lines(snapshot):
    for name in ("net", "tax", "gross"):
        assert Decimal(snapshot["totals"][name]) == sum(
            Decimal(line[name]) for line in snapshot["lines"]
        ), name
        assert Decimal(snapshot["totals"][name]) == sum(
            Decimal(rate[name]) for rate in snapshot["rates"]
        ), name


def test_domestic_french_invoice(antimart, shop_fr, win, office):
    order = paid_order("domestic_fr", [win, office], language="fr", discount_percent="10",
                       coupon="WINTER10")  # fmt: skip
    invoice = Invoice.objects.get(order=order)
    snap = invoice.snapshot
    assert invoice.kind == "invoice" and invoice.buyer_country == "FR"
    assert snap["seller"] == {
        "name": "AllKeyMasters",
        "legal_name": "AllKeyMasters SAS",
        "address_lines": ["12 rue de la Paix", "75002 Paris", "FR"],
        "country": "FR",
        "vat_number": "FR40303265045",
        "company_number": "RCS Paris 303 265 045",
        "support_email": "support@allkeymasters.example",
    }
    assert snap["lines"][0] == {
        "line_id": snap["lines"][0]["line_id"],
        "description": "Windows 11 Pro",
        "quantity": 1,
        "unit_price": "29.90",
        "discount": "2.99",
        "net": "22.42",
        "rate": "20.00",
        "tax": "4.49",
        "gross": "26.91",
    }
    assert snap["totals"] == {"subtotal": "79.80", "discount": "7.98", "net": "59.84",
                              "tax": "11.98", "gross": "71.82"}  # fmt: skip
    assert snap["coupon_code"] == "WINTER10"
    assert snap["mentions"] == []
    _totals_are_sums_of_lines(snap)
    assert (invoice.net_total, invoice.tax_total, invoice.gross_total) == (
        Decimal("59.84"), Decimal("11.98"), Decimal("71.82"))  # fmt: skip


def test_oss_invoice_for_a_german_consumer(antimart, shop_fr, win):
    invoice = Invoice.objects.get(order=paid_order("oss_de", [win], language="de"))
    snap = invoice.snapshot
    assert invoice.tax_treatment == "oss" and invoice.buyer_country == "DE"
    assert snap["rates"] == [{"rate": "19.00", "net": "25.13", "tax": "4.77", "gross": "29.90"}]
    assert [m["code"] for m in snap["mentions"]] == ["oss"]
    _totals_are_sums_of_lines(snap)


def test_reverse_charge_invoice_for_a_german_business(antimart, shop_fr, win):
    invoice = Invoice.objects.get(order=paid_order("reverse_charge_de", [win], language="fr"))
    snap = invoice.snapshot
    assert snap["buyer"]["company"] == "Becker GmbH"
    assert snap["buyer"]["vat_number"] == "DE136695976"
    assert snap["totals"]["tax"] == "0.00"
    assert snap["mentions"] == [{
        "code": "reverse_charge",
        "text": "Autoliquidation — TVA due par le preneur (article 196 de la directive 2006/112/CE).",
    }]  # fmt: skip


def test_export_invoice_outside_the_eu_says_vat_is_not_applicable(antimart, shop_fr, win):
    snap = Invoice.objects.get(order=paid_order("outside_us", [win])).snapshot
    assert snap["totals"]["tax"] == "0.00"
    assert snap["mentions"][0]["code"] == "outside_scope"
    assert snap["mentions"][0]["text"].startswith("VAT not applicable")


def test_saudi_consumer_gets_a_simplified_tax_invoice_with_the_zatca_qr(antimart, shop_sa, win):
    order = paid_order("ksa", [win], language="ar", currency="SAR")
    invoice = Invoice.objects.get(order=order)
    assert invoice.kind == "simplified"
    assert invoice.display_number.startswith("NK-")
    snap = invoice.snapshot
    assert snap["bilingual_arabic"] is True
    assert snap["rates"] == [{"rate": "15.00", "net": "26.00", "tax": "3.90", "gross": "29.90"}]
    fields = zatca_tlv_decode(document_qr_payload(snapshot=snap))
    assert fields == {
        "seller_name": "NovaKeys Trading Est.",
        "vat_number": "310122393500003",
        "timestamp": invoice.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "total": "29.90",
        "vat_total": "3.90",
    }


def test_saudi_business_with_a_vat_number_gets_a_full_tax_invoice(antimart, shop_sa, win):
    order = order_taxed(products=[win], regime="national", treatment="national", rate="15.00",
                        country="SA", company="Riyadh Tech LLC", vat_number="300000000000003",
                        currency="SAR")  # fmt: skip
    assert Invoice.objects.get(order=pay(order)).kind == "invoice"


def test_the_key_email_carries_the_invoice_pdf(antimart, shop_fr, win):
    order = paid_order("domestic_fr", [win])
    invoice = Invoice.objects.get(order=order)
    sent = [m for m in mail.outbox if m.to == [order.email]]
    assert len(sent) == 1
    ((name, content, mimetype),) = sent[0].attachments
    assert name == f"{invoice.display_number}.pdf"
    assert mimetype == "application/pdf" and content.startswith(b"%PDF-")


def test_the_sweeper_issues_what_a_lost_delivery_left_out(antimart, shop_fr, win):
    from datetime import timedelta

    from django.test import TestCase
    from django.utils import timezone

    from invoices.services import invoices_sweep
    from orders.models import Order
    from orders.services import payment_test_card_submit

    order = order_taxed(products=[win], regime="eu_oss", treatment="oss", rate="19.00",
                        country="DE")  # fmt: skip
    # the delivery (which issues the invoice) is lost: nothing runs after the commit
    with TestCase.captureOnCommitCallbacks(execute=False):
        payment_test_card_submit(session_id=order.gateway_session_id,
                                 card_number="4100000000000019")  # fmt: skip
    order.refresh_from_db()
    assert order.status == "paid" and not Invoice.objects.filter(order=order).exists()
    assert invoices_sweep() == (0, 0)  # within the grace period: the task may still come
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(minutes=10))
    assert invoices_sweep() == (1, 0)
    assert Invoice.objects.filter(order=order).count() == 1
    assert invoices_sweep() == (0, 0)


def test_a_held_order_gets_its_invoice_from_its_delivery_run(antimart, shop_fr, win):
    """The delivery run issues the invoice whatever it decides (here a fraud hold), in
    its own transaction: no separate task is queued for it."""
    from unittest import mock

    from invoices import tasks

    order = order_taxed(products=[win], regime="eu_oss", treatment="oss", rate="19.00",
                        country="DE")  # fmt: skip
    from django.test import TestCase

    from orders.services import payment_test_card_submit

    with (
        mock.patch.object(tasks.invoice_issue_task, "delay") as queued,
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        payment_test_card_submit(session_id=order.gateway_session_id,
                                 card_number="4100000000000019")  # fmt: skip
    order.refresh_from_db()
    assert order.status == "on_hold"
    invoice = Invoice.objects.get(order=order)
    assert invoice.number == 1 and not queued.called
    assert order.events.filter(kind="invoice").count() == 1


def test_a_delivery_that_rolls_back_gives_its_invoice_number_back(antimart, shop_fr, win):
    """The number is taken in the delivery's transaction: when anything after it fails,
    the invoice and its number go with the rollback (no gap), and the next run issues it."""
    from unittest import mock

    from invoices.models import DocumentSequence
    from orders.models import OrderEvent
    from orders.services import order_deliver

    order = order_taxed(products=[win], regime="eu_oss", treatment="oss", rate="19.00",
                        country="DE")  # fmt: skip
    seen = []

    def crash(*args, **kwargs):  # the delivery's events: written after the number is taken
        seen.append(list(DocumentSequence.objects.values_list("next_number", flat=True)))
        raise RuntimeError("crash after the number was taken")

    with (
        mock.patch.object(OrderEvent.objects, "bulk_create", side_effect=crash),
        pytest.raises(RuntimeError),
    ):
        pay(order)
    assert seen == [[2]]  # number 1 was taken when it crashed
    order.refresh_from_db()
    assert order.status == "paid" and not Invoice.objects.exists()
    order_deliver(order_id=order.pk)  # the sweeper's re-run
    assert Invoice.objects.get(order=order).number == 1
    assert paid_order("domestic_fr", [win], email="next@example.com").invoices.get().number == 2


@pytest.mark.parametrize("returning", [True, False], ids=["update-returning", "locked-read"])
def test_numbers_run_on_without_gaps_with_or_without_update_returning(
    antimart, shop_fr, win, monkeypatch, returning
):
    """SQLite older than 3.35 has no RETURNING: the number is read under the row lock."""
    from django.db import transaction

    from invoices import services
    from invoices.services import document_number_take

    monkeypatch.setattr(services, "_update_returning_supported", lambda: returning)
    with transaction.atomic():
        taken = [document_number_take(series="T-2026") for _ in range(3)]
    with transaction.atomic():
        document_number_take(series="T-2026")
        transaction.set_rollback(True)
    with transaction.atomic():
        taken.append(document_number_take(series="T-2026"))

    assert taken == [1, 2, 3, 4]


def test_an_issued_invoice_cannot_be_changed_by_the_fast_row_update(antimart, shop_fr, win):
    """Writes that skip save() (core.prepared) skip an override only for the kind of write
    its model declares plain: an invoice is inserted without save(), but an update still
    goes through save(), which refuses it; an order's save() only fills a new order."""
    from core.prepared import _plain_save, row_update
    from invoices.models import ImmutableDocumentError
    from orders.models import Order

    assert _plain_save(Invoice, kind="insert") and not _plain_save(Invoice, kind="update")
    assert _plain_save(Order, kind="update") and not _plain_save(Order, kind="insert")
    invoice = paid_order("domestic_fr", [win]).invoices.get()
    invoice.display_number = "FORGED-1"
    with pytest.raises(ImmutableDocumentError):
        row_update(obj=invoice, fields=["display_number"])
    assert Invoice.objects.get(pk=invoice.pk).display_number != "FORGED-1"
