"""Claims and chargebacks raise their outgoing webhook events once each, from the real
refunds services, with ids and statuses but not the customer's words or email."""

from __future__ import annotations

import json

import pytest

from keys.models import Key
from refunds.models import Dispute
from refunds.services import (
    claim_approve_replacement,
    claim_verification_record,
    dispute_event_handle,
)
from tests.factories import ProductFactory, UserFactory, claim_new, keys_create, order_delivered_new
from tests.refunds.conftest import preset_activate, staff_with
from tests.refunds.test_disputes import dispute_event, order_paid_under

pytestmark = pytest.mark.django_db(transaction=True)


def _events(receiver) -> list[dict]:
    return [json.loads(r.body) for r in receiver.received]


def test_a_claim_emits_opened_then_decided_once_each(receiver, endpoint_for):
    preset_activate("novakeys")
    product = ProductFactory()
    keys_create(product=product, count=3)
    customer = UserFactory(email="alice@example.com")
    order = order_delivered_new(product=product, user=customer)
    key = Key.objects.get(order_line__order=order)
    endpoint_for(receiver, events=["claim.opened", "claim.decided"])
    agent = staff_with("decide_claim")

    claim = claim_new(order=order, key=key, description="My private words about the key.")
    claim_verification_record(claim=claim, actor=agent, result="confirmed_defective")
    claim_approve_replacement(claim=claim, actor=agent)

    events = _events(receiver)
    assert [e["type"] for e in events] == ["claim.opened", "claim.decided"]
    opened, decided = (e["data"]["claim"] for e in events)
    assert opened["number"] == claim.number and opened["status"] == "submitted"
    assert opened["order_number"] == order.number and opened["key_id"] == key.pk
    assert (decided["status"], decided["remedy"]) == ("approved", "replace")
    for got in receiver.received:
        text = got.body.decode()
        assert "private words" not in text and "alice@example.com" not in text


def test_a_chargeback_emits_dispute_created_once_even_when_stripe_resends_it(
    settings, receiver, endpoint_for
):
    from tests.orders.helpers import WEBHOOK_SECRET

    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    product = ProductFactory()
    keys_create(product=product, count=2)
    order = order_paid_under(
        slug="allkeymasters", product=product, user=UserFactory(email="alice@example.com")
    )
    endpoint_for(receiver, events=["dispute.created"])

    event = dispute_event(order)
    dispute_event_handle(event=event)
    dispute_event_handle(event=event)
    dispute_event_handle(event=dispute_event(order, type="charge.dispute.updated"))

    [created] = _events(receiver)
    dispute = Dispute.objects.get()
    assert created["type"] == "dispute.created"
    data = created["data"]["dispute"]
    assert (data["stripe_dispute_id"], data["order_number"]) == ("dp_test_1", order.number)
    assert (data["amount"], data["currency"], data["reason"]) == ("29.90", "EUR", "fraudulent")
    assert data["id"] == dispute.pk
