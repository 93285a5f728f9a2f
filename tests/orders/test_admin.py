"""Staff screens: every orders admin page renders, and the actions call their services."""

import pytest
from django.urls import reverse

from orders.models import BlocklistEntry, Order, OrderStatus, Refund
from orders.services import payment_test_card_submit
from tests.factories import order_new
from tests.staff import staff_login

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff_client(client, staff_user):
    staff_login(client=client, user=staff_user)
    return client


def _paid(product, card="4242424242424242", **kw):
    order = order_new(product=product, **kw)
    payment_test_card_submit(session_id=order.gateway_session_id, card_number=card)
    order.refresh_from_db()
    return order


@pytest.mark.parametrize(
    "model", ["order", "webhookevent", "refund", "orderemail", "fraudsettings", "blocklistentry"]
)
def test_admin_lists_render(staff_client, stocked, model):
    _paid(stocked)
    response = staff_client.get(reverse(f"admin:orders_{model}_changelist"))
    assert response.status_code == 200


def test_admin_order_page_shows_lines_events_and_emails(staff_client, stocked):
    order = _paid(stocked)
    page = staff_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "Windows 11 Pro" in page and "keys delivered" in page and "delivery email sent" in page


def test_admin_cancel_action_refunds_a_held_order(staff_client, stocked):
    order = _paid(stocked, card="4100000000000019")
    assert order.status == OrderStatus.ON_HOLD
    staff_client.post(
        reverse("admin:orders_order_changelist"),
        {"action": "cancel_and_refund", "_selected_action": [str(order.pk)]},
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert Refund.objects.get(order=order).status == "succeeded"


def test_admin_cancel_action_refuses_a_delivered_order(staff_client, stocked):
    order = _paid(stocked)
    response = staff_client.post(
        reverse("admin:orders_order_changelist"),
        {"action": "cancel_and_refund", "_selected_action": [str(order.pk)]},
        follow=True,
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    assert "cannot be cancelled" in response.content.decode()


def test_admin_resend_action_sends_the_key_email_again(staff_client, stocked, mailoutbox):
    order = _paid(stocked)
    staff_client.post(
        reverse("admin:orders_order_changelist"),
        {"action": "resend_keys", "_selected_action": [str(order.pk)]},
    )
    assert len([m for m in mailoutbox if order.number in m.subject]) == 2
    assert order.emails.filter(kind="resend", status="sent").count() == 1


def test_staff_add_to_the_blocklist_normalizes_the_value(staff_client, db):
    staff_client.post(
        reverse("admin:orders_blocklistentry_add"),
        {"kind": "email", "value": "  Fraud@Example.COM ", "reason": "chargeback"},
    )
    entry = BlocklistEntry.objects.get()
    assert entry.value == "fraud@example.com" and entry.created_by is not None
    assert not Order.objects.exists()
