"""A held order's own admin page: the risk facts behind the hold, release and
cancel-with-refund buttons (permission-checked, logged), resend with the staff rate limit,
and the order's timeline in one chronological list."""

import pytest
from django.urls import reverse

from keys.services import key_reveal
from orders.models import OrderStatus
from orders.selectors import order_timeline_get
from orders.services import payment_test_card_submit
from tests.factories import order_delivered_new, order_new
from tests.staff import staff_login
from tests.staff_perms import admin_log, staff_with_perms

pytestmark = pytest.mark.django_db(transaction=True)
HELD_CARD = "4100000000000019"


def _held(product):
    order = order_new(product=product)
    payment_test_card_submit(session_id=order.gateway_session_id, card_number=HELD_CARD)
    order.refresh_from_db()
    assert order.status == OrderStatus.ON_HOLD
    return order


def _page(order):
    return reverse("admin:orders_order_change", args=[order.pk])


def _act(order, action):
    return reverse("admin:orders_order_act", args=[order.pk, action])


def test_the_held_order_page_shows_why_and_releases_with_one_button(client, stocked):
    manager = staff_with_perms("orders.view_order", "orders.release_hold", "orders.refund_order")
    staff_login(client=client, user=manager)
    order = _held(stocked)
    page = client.get(_page(order)).content.decode()
    reasons = order.risk.hold_reasons
    assert reasons and all(reason in page for reason in reasons)
    assert 'id="release-hold"' in page and 'id="cancel-refund"' in page
    client.post(_act(order, "release"))
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED and order.risk.released_by == manager
    assert "Released the security hold" in admin_log(obj=order, user=manager)


def test_cancel_with_refund_from_the_held_order_page(client, stocked):
    manager = staff_with_perms("orders.view_order", "orders.refund_order")
    staff_login(client=client, user=manager)
    order = _held(stocked)
    client.post(_act(order, "cancel"))
    order.refresh_from_db()
    assert order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED)
    assert order.refunds.exists()
    assert "Cancelled and refunded in full" in admin_log(obj=order, user=manager)


def test_an_agent_without_the_permission_sees_no_button_and_cannot_post(client, stocked):
    agent = staff_with_perms("orders.view_order", "orders.resend_key_email")
    staff_login(client=client, user=agent)
    order = _held(stocked)
    page = client.get(_page(order)).content.decode()
    assert 'id="release-hold"' not in page and "A manager releases" in page
    assert client.post(_act(order, "release")).status_code == 403
    assert client.post(_act(order, "cancel")).status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.ON_HOLD


def test_resend_from_the_order_page_keeps_the_staff_rate_limit(client, stocked, settings):
    settings.ORDERS_STAFF_RESEND_PER_HOUR = 2
    agent = staff_with_perms("orders.view_order", "orders.resend_key_email")
    staff_login(client=client, user=agent)
    order = order_delivered_new(product=stocked)
    assert 'id="resend-keys"' in client.get(_page(order)).content.decode()
    for _ in range(2):
        client.post(_act(order, "resend"))
    page = client.post(_act(order, "resend"), follow=True).content.decode()
    assert "2 times in the last hour" in page
    assert order.emails.filter(kind="resend").count() == 2
    assert admin_log(obj=order, user=agent).count("Queued the key email again") == 2


def test_the_timeline_lists_events_emails_views_refunds_and_claims_in_order(
    client, stocked, settings
):
    from orders.services import order_refund
    from policies.services import preset_load
    from tests.factories import claim_new

    settings.PAYMENT_GATEWAY = "test"
    preset_load(slug="novakeys", activate=True)
    order = order_delivered_new(product=stocked, email="buyer@example.com")
    key = order.lines.get().keys.get()
    key_reveal(key=key, channel="tracking", ip="203.0.113.9", user_agent="UA", user=None)
    claim_new(order=order, key=key, user=None)
    order_refund(order=order, amount=order.total / 2, reason="support", reference="goodwill")
    timeline = order_timeline_get(order=order)
    kinds = {item.kind for item in timeline}
    assert kinds == {"event", "email", "view", "refund", "claim"}
    assert [item.at for item in timeline] == sorted(item.at for item in timeline)
    assert all(key.masked in item.text for item in timeline if item.kind == "view")
    staff_login(client=client, user=staff_with_perms("orders.view_order"))
    page = client.get(_page(order)).content.decode()
    assert 'id="order-timeline"' in page and "203.0.113.9" in page
