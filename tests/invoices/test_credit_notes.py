"""A credit note for every refund that succeeds -- claim refund, cancellation, exchange
difference, a refund made outside the shop -- against the order's invoice, in its own
series, crediting what was paid for the refunded line (never more), with the tax split as
on the invoice line."""

from decimal import Decimal

import pytest
from django.test import TestCase

from invoices.models import CreditNote, Invoice
from invoices.services import _LineLeft, credit_allocate, credit_note_issue
from keys.models import Key
from orders.models import Refund
from tests.factories import ProductFactory, UserFactory, claim_new, keys_create

from .conftest import order_taxed

pytestmark = pytest.mark.django_db


def preset(slug):
    from policies.services import preset_load

    return preset_load(slug=slug, activate=True).preset


@pytest.fixture
def agent(db):
    return UserFactory(email="agent@example.com", is_staff=True, is_superuser=True)


def delivered(products, *, card="4242424242424242", **kwargs):
    from orders.services import payment_test_card_submit

    customer = UserFactory(email=kwargs.pop("email", "alice@example.com"))
    order = order_taxed(products=products, regime="eu_oss", treatment="domestic", rate="20.00",
                        country="FR", email=customer.email, **kwargs)  # fmt: skip
    order.user = customer
    order.save(update_fields=["user"])
    with TestCase.captureOnCommitCallbacks(execute=True):
        payment_test_card_submit(session_id=order.gateway_session_id, card_number=card)
    order.refresh_from_db()
    return order


def sums(snapshot, name):
    return sum((Decimal(line[name]) for line in snapshot["lines"]), Decimal(0))


def test_a_claim_refund_credits_the_claimed_line_with_its_tax_share(
    transactional_db, shop_fr, win, office, agent
):
    from refunds.services import claim_approve_refund, claim_verification_record

    preset("novakeys")
    order = delivered([win, office], discount_percent="10", coupon="WINTER10")
    assert order.status == "delivered"
    key = Key.objects.get(order_line__order=order, product=win)
    Key.objects.filter(status="available").update(status="defective")  # nothing to replace with
    with TestCase.captureOnCommitCallbacks(execute=True):
        claim = claim_new(order=order, key=key)
        claim = claim_verification_record(claim=claim, actor=agent, result="confirmed_defective")
    with TestCase.captureOnCommitCallbacks(execute=True):
        claim_approve_refund(claim=claim, actor=agent, amount=Decimal("26.91"))  # paid for it
    invoice = Invoice.objects.get(order=order)
    note = CreditNote.objects.get(invoice=invoice)
    refund = Refund.objects.get(order=order, reason="claim")
    assert note.refund == refund and note.reason == "claim"
    year = invoice.issued_at.year
    assert note.display_number == f"AKM-CN-{year}-000001"
    win_line = next(
        line for line in invoice.snapshot["lines"] if line["description"] == "Windows 11 Pro"
    )
    assert note.snapshot["lines"] == [{
        "line_id": win_line["line_id"], "description": "Windows 11 Pro", "quantity": 1,
        "rate": "20.00", "net": "22.42", "tax": "4.49", "gross": "26.91",
    }]  # fmt: skip
    assert note.snapshot["invoice_number"] == invoice.display_number
    assert note.snapshot["reason"] == "Refund after a claim"
    # re-running the task changes nothing
    assert credit_note_issue(refund_id=refund.pk) == note
    assert CreditNote.objects.count() == 1


def test_cancelling_a_held_order_credits_the_whole_invoice_exactly(shop_fr, win, office, agent):
    from orders.services import order_cancel

    preset("antimart")
    order = delivered([win, office], card="4100000000000019")  # trips the fraud check
    assert order.status == "on_hold"
    with TestCase.captureOnCommitCallbacks(execute=True):
        order_cancel(order=order, actor=agent, reason="cancelled by staff")
    invoice = Invoice.objects.get(order=order)
    note = CreditNote.objects.get(invoice=invoice)
    assert note.reason == "cancelled"
    for name in ("net", "tax", "gross"):
        assert sums(note.snapshot, name) == sums(invoice.snapshot, name), name
    assert (note.net_total, note.tax_total, note.gross_total) == (
        invoice.net_total, invoice.tax_total, invoice.gross_total)  # fmt: skip


def test_an_exchange_difference_is_credited_on_the_exchanged_line(
    transactional_db, shop_fr, win, agent
):
    from refunds.services import claim_approve_exchange

    preset("windowskeymart")
    home = ProductFactory(name="Windows 11 Home", slug="windows-11-home", price=Decimal("19.90"))
    keys_create(product=home, count=1)
    order = delivered([win])
    key = Key.objects.get(order_line__order=order)
    with TestCase.captureOnCommitCallbacks(execute=True):
        claim = claim_new(order=order, key=key, reason="wrong_purchase")
    with TestCase.captureOnCommitCallbacks(execute=True):
        claim_approve_exchange(claim=claim, actor=agent, product=home)
    note = CreditNote.objects.get(invoice__order=order)
    assert note.reason == "claim_exchange"
    # 10.00 of the 29.90 line (VAT 4.98): VAT 10.00 x 4.98 / 29.90 = 1.67
    assert [(line["gross"], line["tax"], line["net"]) for line in note.snapshot["lines"]] == [
        ("10.00", "1.67", "8.33")
    ]
    assert note.snapshot["reason"] == "Price difference of an exchange"


def test_a_refund_made_outside_the_shop_gets_its_credit_note(settings, client, shop_fr, win):
    from tests.orders.helpers import WEBHOOK_SECRET, event_payload, post_event

    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    preset("antimart")
    order = delivered([win])
    payload = event_payload(type="charge.refunded", obj={
        "id": "ch_1", "object": "charge", "amount_refunded": 1000, "currency": "eur",
        "metadata": {"order_id": str(order.pk)},
        "refunds": {"object": "list", "data": [{"id": "re_dash", "object": "refund",
                                                 "amount": 1000, "currency": "eur",
                                                 "status": "succeeded", "metadata": {}}]},
    })  # fmt: skip
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert post_event(client, payload).status_code == 200
    note = CreditNote.objects.get(invoice__order=order)
    assert note.reason == "gateway" and note.gross_total == Decimal("10.00")
    assert note.snapshot["reason"] == "Refund made through the payment provider"


def _left(**lines):
    return {
        line_id: _LineLeft(
            line={"gross": gross, "tax": tax}, gross=Decimal(gross), tax=Decimal(tax)
        )
        for line_id, (gross, tax) in ((int(k[1:]), v) for k, v in lines.items())
    }


def test_allocation_fills_the_claimed_line_first_then_spreads_never_above_what_was_paid():
    left = _left(l1=("26.91", "4.49"), l2=("44.91", "7.49"))
    assert credit_allocate(amount=Decimal("26.91"), left=left, targets=[1], currency="EUR") == {
        1: Decimal("26.91")
    }
    # more than the claimed line: the rest goes to the other line
    assert credit_allocate(amount=Decimal("29.90"), left=left, targets=[1], currency="EUR") == {
        1: Decimal("26.91"), 2: Decimal("2.99")}  # fmt: skip
    # no target: in proportion, to the cent, summing to the amount
    spread = credit_allocate(amount=Decimal("10.00"), left=left, targets=[], currency="EUR")
    assert sum(spread.values()) == Decimal("10.00")
    assert spread == {1: Decimal("3.75"), 2: Decimal("6.25")}
    # never more than what is left
    assert credit_allocate(amount=Decimal("999"), left=left, targets=[], currency="EUR") == {
        1: Decimal("26.91"), 2: Decimal("44.91")}  # fmt: skip
