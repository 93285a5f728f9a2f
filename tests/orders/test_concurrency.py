"""Concurrent webhooks and success pages on PostgreSQL, with real threads and connections."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import reverse

from keys.models import KeyEvent
from orders.models import OrderEvent, OrderStatus, WebhookEvent

from .helpers import post_event, session_event, signature_header

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _run_together(n, work):
    barrier = threading.Barrier(n)

    def one(i):
        try:
            barrier.wait(timeout=30)
            return work(i)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def _delivered_once(order):
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    assert OrderEvent.objects.filter(order=order, to_status="paid", kind="status").count() == 1
    assert OrderEvent.objects.filter(order=order, to_status="delivered", kind="status").count() == 1
    assert order.lines.get().keys.count() == order.lines.get().quantity
    sold = KeyEvent.objects.filter(order_id=order.pk, to_status="delivered").count()
    assert sold == order.lines.get().quantity
    assert len([m for m in mail.outbox if order.number in m.subject]) == 1


def test_the_same_signed_event_sent_50_times_at_once_pays_and_delivers_once(
    stocked, stripe_order, stripe_on
):
    order = stripe_order(product=stocked, quantity=2)
    intent = stripe_on.sessions[order.gateway_session_id]["payment_intent"]
    payload = session_event(order, payment_intent=intent, event_id="evt_storm")
    header = signature_header(payload)

    statuses = _run_together(50, lambda i: post_event(Client(), payload, header=header).status_code)

    assert set(statuses) == {200}
    assert WebhookEvent.objects.count() == 1
    assert WebhookEvent.objects.get().status == "processed"
    _delivered_once(order)


def test_success_page_and_webhook_racing_deliver_once(stocked, stripe_order, stripe_on):
    order = stripe_order(product=stocked)
    intent = stripe_on.sessions[order.gateway_session_id]["payment_intent"]
    payloads = [session_event(order, payment_intent=intent) for _ in range(10)]  # 10 event ids

    def work(i):
        client = Client()
        if i % 2:
            return post_event(client, payloads[i // 2]).status_code
        session = client.session
        session["orders_access"] = {str(order.pk): "screen"}
        session.save()
        return client.get(
            reverse("orders:payment_return", args=[order.number]),
            {"session_id": order.gateway_session_id},
        ).status_code

    statuses = _run_together(20, work)
    assert set(statuses) <= {200, 302}
    _delivered_once(order)


def test_many_buyers_racing_for_the_last_keys_get_keys_or_a_backorder(win, stripe_order, stripe_on):
    from tests.factories import keys_create

    keys_create(product=win, count=3)
    orders = [
        stripe_order(
            product=win, email=f"b{i}@example.com", ip=f"192.0.2.{i}", fingerprint=f"fp_{i}"
        )
        for i in range(8)
    ]
    payloads = [
        session_event(o, payment_intent=stripe_on.sessions[o.gateway_session_id]["payment_intent"])
        for o in orders
    ]
    _run_together(8, lambda i: post_event(Client(), payloads[i]).status_code)
    statuses = []
    for order in orders:
        order.refresh_from_db()
        statuses.append(order.status)
    assert statuses.count("delivered") == 3
    assert statuses.count("backordered") == 5
    codes = [k.pk for o in orders for k in o.lines.get().keys.all()]
    assert len(codes) == len(set(codes)) == 3


def test_five_concurrent_checkouts_of_one_cart_make_one_open_order(stocked, antimart):
    """Five "continue to payment" posts from one browser at once: one payable order."""
    from django.conf import settings as django_settings

    from orders.models import Order

    browser = Client()
    browser.post(reverse("catalog:cart_add", args=[stocked.slug]), {"quantity": 2})
    cookie = browser.cookies[django_settings.SESSION_COOKIE_NAME].value
    form = {
        "billing_name": "Ada Lovelace",
        "email": "ada@example.com",
        "language": "en",
        "consent_policy_acceptance": "on",
    }

    def work(i):
        tab = Client()
        tab.cookies[django_settings.SESSION_COOKIE_NAME] = cookie
        response = tab.post("/orders/checkout/", form)
        return response.status_code, response.get("Location", "")

    results = _run_together(5, work)

    order = Order.objects.get()  # exactly one order
    assert order.status == OrderStatus.PENDING and order.cart_ref
    payment = reverse("orders:test_pay", args=[order.gateway_session_id])
    assert results == [(302, payment)] * 5  # every tab goes on to pay that one order
