"""Order admin actions are offered and run only for staff holding their permission, and
each effect is written to the admin log."""

import json

import pytest
from django.urls import reverse

from orders.models import Order, OrderStatus, Refund, WebhookEvent
from orders.services import payment_test_card_submit
from tests.factories import order_new
from tests.staff import staff_login
from tests.staff_perms import action_offered, admin_log, staff_with_perms

from .helpers import post_event

pytestmark = pytest.mark.django_db(transaction=True)

ORDERS = reverse("admin:orders_order_changelist")
HELD_CARD = "4100000000000019"


def _paid(product, card="4242424242424242"):
    order = order_new(product=product)
    payment_test_card_submit(session_id=order.gateway_session_id, card_number=card)
    order.refresh_from_db()
    return order


def _run(client, action, obj, url=ORDERS):
    return client.post(url, {"action": action, "_selected_action": [str(obj.pk)]}, follow=True)


@pytest.fixture
def viewer(client):
    staff_login(client=client, user=staff_with_perms("orders.view_order"))
    return client


def test_a_view_only_staff_member_cannot_release_a_fraud_hold(viewer, stocked):
    order = _paid(stocked, card=HELD_CARD)
    assert order.status == OrderStatus.ON_HOLD
    assert not action_offered(viewer, changelist_url=ORDERS, action="release_hold")
    _run(viewer, "release_hold", order)
    order.refresh_from_db()
    assert order.status == OrderStatus.ON_HOLD
    assert not order.lines.get().keys.filter(status="delivered").exists()


def test_staff_with_release_hold_release_it_and_the_admin_log_says_so(client, stocked):
    user = staff_with_perms("orders.view_order", "orders.release_hold")
    staff_login(client=client, user=user)
    order = _paid(stocked, card=HELD_CARD)
    assert action_offered(client, changelist_url=ORDERS, action="release_hold")
    _run(client, "release_hold", order)
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    assert admin_log(obj=order, user=user) == ["Released the security hold"]


def test_a_view_only_staff_member_cannot_cancel_and_refund(viewer, stocked):
    order = _paid(stocked, card=HELD_CARD)
    assert not action_offered(viewer, changelist_url=ORDERS, action="cancel_and_refund")
    _run(viewer, "cancel_and_refund", order)
    order.refresh_from_db()
    assert order.status == OrderStatus.ON_HOLD and not Refund.objects.exists()


def test_staff_with_refund_order_cancel_and_refund_with_a_log_entry(client, stocked):
    user = staff_with_perms("orders.view_order", "orders.refund_order")
    staff_login(client=client, user=user)
    order = _paid(stocked, card=HELD_CARD)
    _run(client, "cancel_and_refund", order)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert Refund.objects.get(order=order).status == "succeeded"
    assert admin_log(obj=order, user=user) == ["Cancelled and refunded in full"]


def test_a_view_only_staff_member_cannot_resend_key_emails(viewer, stocked):
    order = _paid(stocked)
    assert not action_offered(viewer, changelist_url=ORDERS, action="resend_keys")
    _run(viewer, "resend_keys", order)
    assert not order.emails.filter(kind="resend").exists()


def test_staff_resends_are_capped_per_order_per_hour_with_a_clear_message(
    client, stocked, settings
):
    settings.ORDERS_STAFF_RESEND_PER_HOUR = 2
    user = staff_with_perms("orders.view_order", "orders.resend_key_email")
    staff_login(client=client, user=user)
    order = _paid(stocked)
    other = _paid(stocked)
    for _ in range(2):
        _run(client, "resend_keys", order)
    refused = _run(client, "resend_keys", order).content.decode()
    assert "Staff already sent this order&#x27;s keys 2 times in the last hour" in refused
    assert order.emails.filter(kind="resend").count() == 2
    assert admin_log(obj=order, user=user) == ["Queued the key email again"] * 2
    _run(client, "resend_keys", other)  # the cap is per order
    assert other.emails.filter(kind="resend").count() == 1


def test_a_view_only_staff_member_cannot_replay_a_webhook_event(client, db):
    staff_login(client=client, user=staff_with_perms("orders.view_webhookevent"))
    post_event(
        client, json.dumps({"id": "evt_1", "type": "customer.created", "data": {"object": {}}})
    )
    event = WebhookEvent.objects.get()
    url = reverse("admin:orders_webhookevent_changelist")
    assert not action_offered(client, changelist_url=url, action="replay")
    _run(client, "replay", event, url=url)
    event.refresh_from_db()
    assert event.attempts == 1


def test_staff_with_replay_webhook_process_an_event_again_with_a_log_entry(client, db):
    user = staff_with_perms("orders.view_webhookevent", "orders.replay_webhook")
    staff_login(client=client, user=user)
    post_event(
        client, json.dumps({"id": "evt_1", "type": "customer.created", "data": {"object": {}}})
    )
    event = WebhookEvent.objects.get()
    _run(client, "replay", event, url=reverse("admin:orders_webhookevent_changelist"))
    event.refresh_from_db()
    assert event.attempts == 2
    assert admin_log(obj=event, user=user) == ["Processed again: ignored"]


def test_refunds_and_webhook_events_cannot_be_deleted_even_with_the_delete_permission(
    client, stocked
):
    user = staff_with_perms(
        "orders.view_refund", "orders.delete_refund", "orders.view_webhookevent",
        "orders.delete_webhookevent",
    )  # fmt: skip
    staff_login(client=client, user=user)
    order = _paid(stocked, card=HELD_CARD)
    from orders.services import order_cancel

    order_cancel(order=order, reason="test")
    refund = Refund.objects.get()
    response = client.post(reverse("admin:orders_refund_delete", args=[refund.pk]), {"post": "yes"})
    assert response.status_code == 403 and Refund.objects.filter(pk=refund.pk).exists()
    assert Order.objects.filter(pk=order.pk).exists()
