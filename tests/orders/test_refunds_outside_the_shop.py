"""Refunds made outside the shop (the Stripe dashboard) arrive as signed webhooks: a full
refund withdraws the keys, a partial one leaves the choice to staff, a held order that is
refunded in full gives its reserved keys back to stock, and a refund or a dispute that
arrives before its payment waits for it."""

import time
from decimal import Decimal

import pytest
from django.core import mail

from keys.models import Key
from orders.models import FraudSettings, OrderStatus, Refund, WebhookEvent
from tests.factories import ProductFactory, keys_create

from .helpers import event_payload, post_event, session_event

pytestmark = pytest.mark.django_db(transaction=True)


def charge_refunded(order, intent, *, amount, refund_id="re_dashboard1", currency="eur"):
    return event_payload(
        type="charge.refunded",
        obj={
            "id": "ch_1",
            "object": "charge",
            "payment_intent": intent,
            "amount_refunded": amount,
            "currency": currency,
            "metadata": {"order_id": str(order.pk), "order_number": order.number},
            "refunds": {
                "object": "list",
                "data": [
                    {
                        "id": refund_id,
                        "object": "refund",
                        "amount": amount,
                        "currency": currency,
                        "status": "succeeded",
                        "metadata": {},
                    }
                ],
            },
        },
    )


def staff_alerts(order):
    return [m for m in mail.outbox if m.to == ["staff@keystore.test"] and order.number in m.subject]


@pytest.fixture
def paid(stocked, stripe_order, stripe_on):
    order = stripe_order(product=stocked)
    return order, stripe_on.sessions[order.gateway_session_id]["payment_intent"]


def test_full_refund_in_the_stripe_dashboard_revokes_the_keys(client, paid):
    order, intent = paid
    post_event(client, session_event(order, payment_intent=intent))
    key = Key.objects.get(order_line__order=order)
    assert key.status == "delivered"
    post_event(client, charge_refunded(order, intent, amount=2990))
    order.refresh_from_db()
    key.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED and order.refunded_total == Decimal("29.90")
    assert key.status == "revoked"
    assert key.events.filter(to_status="revoked", reason__contains="gateway").exists()


def test_partial_refund_in_the_stripe_dashboard_alerts_staff_and_revokes_nothing(
    client, stocked, stripe_order, stripe_on
):
    order = stripe_order(product=stocked, quantity=2)
    intent = stripe_on.sessions[order.gateway_session_id]["payment_intent"]
    post_event(client, session_event(order, payment_intent=intent))
    mail.outbox.clear()
    post_event(client, charge_refunded(order, intent, amount=2990))  # one key's price of two
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_REFUNDED
    assert order.refunded_total == Decimal("29.90")
    keys = list(Key.objects.filter(order_line__order=order))
    assert [k.status for k in keys] == ["delivered", "delivered"]
    [alert] = staff_alerts(order)
    assert "partial refund" in alert.subject
    assert "29.90" in alert.body and "No key was revoked" in alert.body
    assert all(f"#{k.pk}" in alert.body for k in keys)  # staff see which keys to choose from


def test_charge_refunded_before_the_payment_is_deferred_then_withdraws_the_keys(client, paid):
    order, intent = paid
    post_event(client, charge_refunded(order, intent, amount=2990))
    assert WebhookEvent.objects.get().status == "deferred"
    post_event(client, session_event(order, payment_intent=intent))
    assert WebhookEvent.objects.get(type="charge.refunded").status == "processed"
    order.refresh_from_db()
    assert order.refunded_total == order.total
    assert order.status in (OrderStatus.REFUNDED, OrderStatus.CANCELLED)
    assert not Key.objects.filter(order_line__order=order, status="delivered").exists()
    assert not Key.objects.filter(order_line__order=order, status="reserved").exists()


def test_a_held_order_refunded_in_the_dashboard_returns_its_reserved_keys_to_stock(
    client, stocked, stripe_order, stripe_on
):
    order = stripe_order(product=stocked, risk_level="highest")  # held for a fraud check
    intent = stripe_on.sessions[order.gateway_session_id]["payment_intent"]
    post_event(client, session_event(order, payment_intent=intent))
    order.refresh_from_db()
    assert order.status == OrderStatus.ON_HOLD
    reserved = Key.objects.get(order_line__order=order)
    assert reserved.status == "reserved"

    post_event(client, charge_refunded(order, intent, amount=2990))
    order.refresh_from_db()
    reserved.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert reserved.status == "available" and reserved.order_line is None  # never shown


def test_a_zero_decimal_currency_refunded_in_the_dashboard_is_counted_in_yen(
    client, stripe_order, stripe_on
):
    yen = ProductFactory(name="Nintendo eShop 3000", slug="eshop-3000", price=Decimal("3000"),
                         currency="JPY")  # fmt: skip
    keys_create(product=yen, count=2)
    FraudSettings.objects.update_or_create(pk=1, defaults={"first_order_amount_threshold": None})
    order = stripe_order(product=yen)
    session = stripe_on.sessions[order.gateway_session_id]
    assert session["amount_total"] == 3000 and session["currency"] == "jpy"
    intent = session["payment_intent"]
    post_event(client, session_event(order, payment_intent=intent, amount_total=3000))
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED

    post_event(client, charge_refunded(order, intent, amount=3000, currency="jpy"))
    order.refresh_from_db()
    refund = Refund.objects.get(order=order)
    assert refund.amount == Decimal("3000") and refund.currency == "JPY"
    assert order.refunded_total == Decimal("3000") and order.status == OrderStatus.REFUNDED
    assert Key.objects.get(order_line__order=order).status == "revoked"


def dispute_created(order, intent, *, metadata):
    return event_payload(
        type="charge.dispute.created",
        obj={
            "id": "dp_early",
            "object": "dispute",
            "charge": "ch_early",
            "payment_intent": intent,
            "amount": 2990,
            "currency": "eur",
            "reason": "fraudulent",
            "status": "needs_response",
            "evidence_details": {"due_by": int(time.time()) + 86400},
            "metadata": metadata,
        },
    )


def test_a_dispute_naming_an_unpaid_order_is_deferred_then_applied_on_payment(
    client, antimart, paid
):
    """The dispute names the order (its number) before the payment's event arrived: it
    waits (deferred, linked to the order), it does not fail; the payment applies it."""
    order, intent = paid
    metadata = {"order_id": str(order.pk), "order_number": order.number}
    assert post_event(client, dispute_created(order, intent, metadata=metadata)).status_code == 200
    event = WebhookEvent.objects.get(type="charge.dispute.created")
    assert event.status == "deferred", event.error
    assert event.order == order
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING

    post_event(client, session_event(order, payment_intent=intent))  # no sweeper needed
    event.refresh_from_db()
    order.refresh_from_db()
    assert event.status == "processed"
    assert order.status == OrderStatus.DISPUTED
