"""The Stripe webhook endpoint: signatures on the raw body, events stored once, each type."""

import json
import time

import pytest
from django.core import mail

from orders.models import Order, OrderEvent, OrderStatus, Refund, WebhookEvent

from .helpers import (
    event_payload,
    post_event,
    session_event,
    signature_header,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def paid_session(stocked, stripe_order, stripe_on):
    """A Stripe order whose customer has paid on Stripe's page; no webhook yet."""
    order = stripe_order(product=stocked)
    intent = stripe_on.sessions[order.gateway_session_id]["payment_intent"]
    return order, intent


def _nothing_written(order):
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert not WebhookEvent.objects.exists()
    assert not OrderEvent.objects.filter(order=order).exclude(reason="checkout").exists()


def test_tampered_body_is_rejected_and_nothing_written(client, paid_session):
    order, intent = paid_session
    payload = session_event(order, payment_intent=intent)
    header = signature_header(payload)
    tampered = payload.replace('"amount_total": 2990', '"amount_total": 1')
    response = post_event(client, tampered, header=header)
    assert response.status_code == 400
    _nothing_written(order)


def test_wrong_secret_is_rejected_and_nothing_written(client, paid_session):
    order, intent = paid_session
    payload = session_event(order, payment_intent=intent)
    response = post_event(client, payload, header=signature_header(payload, secret="whsec_other"))
    assert response.status_code == 400
    _nothing_written(order)


def test_missing_signature_header_is_rejected_and_nothing_written(client, paid_session):
    order, intent = paid_session
    response = post_event(client, session_event(order, payment_intent=intent), header="")
    assert response.status_code == 400
    _nothing_written(order)


def test_signature_older_than_300_seconds_is_rejected_and_nothing_written(client, paid_session):
    order, intent = paid_session
    payload = session_event(order, payment_intent=intent)
    old = signature_header(payload, timestamp=int(time.time()) - 301)
    response = post_event(client, payload, header=old)
    assert response.status_code == 400
    _nothing_written(order)


def test_signature_more_than_300_seconds_in_the_future_is_rejected_and_nothing_written(
    client, paid_session
):
    order, intent = paid_session
    payload = session_event(order, payment_intent=intent)
    ahead = signature_header(payload, timestamp=int(time.time()) + 3600)
    response = post_event(client, payload, header=ahead)
    assert response.status_code == 400
    _nothing_written(order)


@pytest.mark.parametrize(
    "body",
    [
        "[]",
        '[{"id": "evt_1", "type": "checkout.session.completed"}]',
        '"checkout.session.completed"',
        "42",
        "null",
        '{"id": "evt_data_string", "type": "checkout.session.completed", "data": "x"}',
        '{"id": "evt_data_list", "type": "charge.refunded", "data": [1, 2]}',
        '{"id": "evt_object_string", "type": "charge.dispute.created", "data": {"object": "x"}}',
        '{"id": 7, "type": "checkout.session.completed", "data": {"object": {}}}',
        "{not json",
    ],
    ids=[
        "empty-array",
        "array",
        "string",
        "number",
        "null",
        "data-string",
        "data-array",
        "object-string",
        "id-not-string",
        "not-json",
    ],
)
def test_a_signed_body_that_is_not_an_event_answers_400_and_is_stored_rejected(client, db, body):
    first = post_event(client, body)
    again = post_event(client, body)  # Stripe retries a 400: still one row
    assert first.status_code == again.status_code == 400
    event = WebhookEvent.objects.get()
    assert event.status == "rejected"
    assert event.error.startswith("malformed event")
    assert event.order is None


def test_completed_and_paid_event_delivers_the_order_and_repeats_change_nothing(
    client, paid_session
):
    order, intent = paid_session
    payload = session_event(order, payment_intent=intent, event_id="evt_once")
    for _ in range(3):
        assert post_event(client, payload).status_code == 200
    event = WebhookEvent.objects.get()
    assert event.event_id == "evt_once" and event.status == "processed" and event.order == order
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED and order.gateway_payment_id == intent
    assert order.lines.get().keys.count() == 1
    assert len([m for m in mail.outbox if order.number in m.subject]) == 1


def test_completed_but_unpaid_session_waits_for_the_async_payment(client, paid_session):
    order, intent = paid_session
    post_event(client, session_event(order, payment_status="unpaid", payment_intent=intent))
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    post_event(
        client,
        session_event(
            order, type="checkout.session.async_payment_succeeded", payment_intent=intent
        ),
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED


def test_async_payment_failure_and_expiry_take_no_money(client, stocked, stripe_order):
    failed = stripe_order(product=stocked, pay=False)
    expired = stripe_order(product=stocked, pay=False, email="other@example.com")
    post_event(
        client,
        session_event(
            failed, type="checkout.session.async_payment_failed", payment_status="unpaid"
        ),
    )
    post_event(
        client, session_event(expired, type="checkout.session.expired", payment_status="unpaid")
    )
    failed.refresh_from_db()
    expired.refresh_from_db()
    assert failed.status == OrderStatus.FAILED and failed.paid_at is None
    assert expired.status == OrderStatus.EXPIRED


def test_out_of_order_expiry_after_payment_leaves_the_order_delivered(client, paid_session):
    order, intent = paid_session
    post_event(client, session_event(order, payment_intent=intent))
    response = post_event(
        client, session_event(order, type="checkout.session.expired", payment_status="unpaid")
    )
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    assert WebhookEvent.objects.get(type="checkout.session.expired").status == "ignored"


def test_payment_after_a_failed_event_still_counts(client, paid_session):
    order, intent = paid_session
    post_event(
        client,
        session_event(order, type="checkout.session.async_payment_failed", payment_status="unpaid"),
    )
    post_event(
        client,
        session_event(
            order, type="checkout.session.async_payment_succeeded", payment_intent=intent
        ),
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED


@pytest.mark.parametrize(
    "amount, currency", [(100, "eur"), (2990, "usd")], ids=["wrong amount", "wrong currency"]
)
def test_amount_or_currency_mismatch_is_not_paid_and_staff_are_alerted(
    client, paid_session, amount, currency
):
    order, intent = paid_session
    response = post_event(
        client,
        session_event(order, payment_intent=intent, amount_total=amount, currency=currency),
    )
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING and order.paid_at is None
    assert not order.lines.get().keys.exists()
    assert WebhookEvent.objects.get().status == "rejected"
    [alert] = [
        m for m in mail.outbox if m.to == ["staff@keystore.test"] and order.number in m.subject
    ]
    assert order.number in alert.subject and "NOT marked paid" in alert.body


def _charge_refunded(order, intent, refund_id="re_dashboard1", amount=2990):
    return event_payload(
        type="charge.refunded",
        obj={
            "id": "ch_1",
            "object": "charge",
            "payment_intent": intent,
            "amount_refunded": amount,
            "metadata": {"order_id": str(order.pk), "order_number": order.number},
            "refunds": {
                "object": "list",
                "data": [
                    {
                        "id": refund_id,
                        "object": "refund",
                        "amount": amount,
                        "status": "succeeded",
                        "metadata": {},
                    }
                ],
            },
        },
    )


def test_charge_refunded_from_the_dashboard_is_recorded_once(client, paid_session):
    order, intent = paid_session
    post_event(client, session_event(order, payment_intent=intent))
    post_event(client, _charge_refunded(order, intent))
    post_event(client, _charge_refunded(order, intent))  # Stripe repeats itself
    order.refresh_from_db()
    refund = Refund.objects.get()
    assert refund.status == "succeeded" and refund.gateway_refund_id == "re_dashboard1"
    assert order.status == OrderStatus.REFUNDED and order.refunded_total == order.total


def test_charge_refunded_before_the_payment_event_is_deferred_then_applied(client, paid_session):
    order, intent = paid_session
    post_event(client, _charge_refunded(order, intent))
    assert WebhookEvent.objects.get().status == "deferred"
    post_event(client, session_event(order, payment_intent=intent))
    order.refresh_from_db()
    assert WebhookEvent.objects.get(type="charge.refunded").status == "processed"
    assert order.refunded_total == order.total
    assert order.status == OrderStatus.REFUNDED


def _dispute_created(order, intent):
    return event_payload(
        type="charge.dispute.created",
        obj={
            "id": "dp_1",
            "object": "dispute",
            "charge": "ch_1",
            "payment_intent": intent,
            "amount": 2990,
            "currency": "eur",
            "reason": "fraudulent",
            "status": "needs_response",
            "evidence_details": {"due_by": int(time.time()) + 86400},
            "metadata": {"order_id": str(order.pk)},
        },
    )


def test_dispute_events_are_passed_to_the_refunds_app(client, antimart, paid_session):
    order, intent = paid_session
    post_event(client, session_event(order, payment_intent=intent))
    assert post_event(client, _dispute_created(order, intent)).status_code == 200
    assert WebhookEvent.objects.get(type="charge.dispute.created").status == "processed"
    order.refresh_from_db()
    assert order.status == OrderStatus.DISPUTED


def test_a_dispute_that_arrives_before_its_payment_is_deferred_then_applied(
    client, antimart, paid_session
):
    """Stripe does not promise order: a dispute may reach us before the payment's own
    events. It is kept as deferred (nothing lost) and applied once the order is known."""
    from orders.services import webhook_events_replay_deferred

    order, intent = paid_session
    assert post_event(client, _dispute_created(order, intent)).status_code == 200
    event = WebhookEvent.objects.get(type="charge.dispute.created")
    assert event.status == "deferred"
    order.refresh_from_db()
    assert order.status != OrderStatus.DISPUTED

    post_event(client, session_event(order, payment_intent=intent))
    order.refresh_from_db()
    assert order.status in (OrderStatus.DELIVERED, OrderStatus.DISPUTED)
    webhook_events_replay_deferred()  # what the sweeper does every minute
    event.refresh_from_db()
    assert event.status == "processed"
    order.refresh_from_db()
    assert order.status == OrderStatus.DISPUTED


def test_unknown_event_types_are_stored_and_ignored(client, db):
    payload = json.dumps({"id": "evt_x", "type": "customer.created", "data": {"object": {}}})
    assert post_event(client, payload).status_code == 200
    assert WebhookEvent.objects.get().status == "ignored"
    assert not Order.objects.exists()
