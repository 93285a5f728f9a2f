"""Delivery through a real Celery worker consuming from Redis (CI's PostgreSQL + Redis pass).

The payment commits, the delivery task goes to the broker only after the commit, and a
worker (a real consumer, not eager mode) allocates the key and sends the email.
"""

import pytest
from django.core import mail

from orders.models import Order
from orders.services import payment_test_card_submit
from tests.factories import order_new
from tests.waiting import wait_until

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def test_a_paid_order_is_delivered_by_a_real_worker_from_redis(celery_worker_live, stocked):
    from config.celery import app

    assert not app.conf.task_always_eager  # tasks really travel through the broker
    mail.outbox.clear()
    order = order_new(product=stocked, email="worker@example.com", quantity=2)
    payment_test_card_submit(session_id=order.gateway_session_id, card_number="4242424242424242")
    wait_until(
        lambda: Order.objects.get(pk=order.pk).status == "delivered",
        timeout=30,
        what="the worker to deliver the order",
    )
    order.refresh_from_db()
    assert order.lines.get().keys.filter(status="delivered").count() == 2
    wait_until(
        lambda: any(m.to == ["worker@example.com"] for m in mail.outbox),
        timeout=30,
        what="the key email",
    )
    assert len([m for m in mail.outbox if m.to == ["worker@example.com"]]) == 1
