"""What one paid order costs the database, and the cached reads the delivery path keeps.

The paid-order path (signed webhook -> payment confirmed -> fraud check -> keys ->
delivered -> key email accepted) runs a fixed, small number of SQL statements; the
figures below are the ones bench/README.md reports, so a change that adds a query per
order fails here (no timing is asserted). The fraud settings, the blocklist, the active
policy preset and the webhook endpoints are read from process-local copies: a change to
any of them must take effect on the very next order.
"""

from decimal import Decimal

import pytest
from django.core import mail

from invoices.models import Invoice
from keys.models import KeyView
from orders.models import (
    BlocklistEntry,
    FraudSettings,
    Order,
    OrderEmail,
    OrderEvent,
    OrderRisk,
    OrderStatus,
    WebhookEvent,
)
from orders.services import blocklist_add

from .helpers import post_event, session_event

pytestmark = pytest.mark.django_db(transaction=True)

# The webhook request (the web process: verify, store, enqueue) and everything the task
# queue then does for the order (payment, fraud check, keys, email, audit). Tasks run
# in-process here, so the whole path is one request (with the stock check it triggers).
# SAVEPOINT / RELEASE statements count.
# PostgreSQL adds the savepoints of key allocation's SKIP LOCKED attempt.
# The invoice is issued inside the delivery's transaction (the series row's UPDATE ...
# RETURNING, the invoice, its event in the delivery's INSERT; no task of its own) and
# handed to the key email's PDF attachment in memory; the key email reuses the lines the
# delivery read. Was 75 / 69 before (the invoice in its own task, read again for the PDF),
# then 47 / 45 before the risk row was read with the order (one statement) and a one-key
# sale stopped taking a savepoint (PostgreSQL).
PAID_ORDER_PATH_MAX_QUERIES = {"postgresql": 44, "sqlite": 44}


def _pay(client, order, intent):
    return post_event(client, session_event(order, payment_intent=intent))


@pytest.fixture
def paid(stocked, stripe_order, stripe_on):
    def make(**kw):
        order = stripe_order(product=stocked, **kw)
        return order, stripe_on.sessions[order.gateway_session_id]["payment_intent"]

    return make


def test_a_paid_order_is_delivered_and_emailed_in_a_fixed_number_of_queries(
    client, paid, django_assert_max_num_queries
):
    warm, warm_intent = paid(email="first@example.com")
    _pay(client, warm, warm_intent)  # caches filled, as in a running shop
    order, intent = paid(email="second@example.com")
    mail.outbox.clear()
    from django.db import connection

    with django_assert_max_num_queries(PAID_ORDER_PATH_MAX_QUERIES[connection.vendor]):
        assert _pay(client, order, intent).status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    assert [m.extra_headers["X-Order-Number"] for m in mail.outbox] == [order.number]
    email = OrderEmail.objects.get(order=order)
    assert email.status == "sent"
    # every guarantee is still written: audit of the emailed key, events, the risk check
    assert KeyView.objects.filter(key__order_line__order=order, channel="email").count() == 1
    kinds = list(OrderEvent.objects.filter(order=order).values_list("kind", "to_status"))
    assert ("status", "paid") in kinds and ("fraud", "paid") in kinds
    assert ("status", "delivered") in kinds and ("email", "delivered") in kinds
    assert ("invoice", "delivered") in kinds
    invoice = Invoice.objects.get(order=order)  # issued once, attached to the key email
    ((name, _content, _mimetype),) = mail.outbox[0].attachments
    assert name == f"{invoice.display_number}.pdf"
    assert OrderRisk.objects.get(order=order).checked_at is not None
    assert WebhookEvent.objects.get(order=order).status == "processed"


def test_the_invoice_number_is_the_delivery_transactions_last_lock(client, paid):
    """Every delivery of the shop waits on the invoice series row from its number's
    ``UPDATE`` until its ``COMMIT``: only the invoice and the order events are written in
    between (the email row, the outbox message, keys and the order's own update come
    first). A longer critical section caps the whole shop's delivery rate."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    warm, warm_intent = paid(email="first@example.com")
    _pay(client, warm, warm_intent)
    order, intent = paid(email="second@example.com")
    with CaptureQueriesContext(connection) as captured:
        assert _pay(client, order, intent).status_code == 200
    statements = [q["sql"] for q in captured.captured_queries]
    (take,) = [i for i, sql in enumerate(statements) if "invoices_documentsequence" in sql]
    end = next(i for i in range(take, len(statements)) if statements[i].startswith("COMMIT"))
    between = [sql.split(" (")[0].split(" SET")[0] for sql in statements[take + 1 : end]]
    assert between == [
        'INSERT INTO "invoices_invoice"',
        'INSERT INTO "orders_orderevent"',
    ], between
    assert Invoice.objects.get(order=order).display_number.endswith(
        str(Invoice.objects.get(order=order).number).zfill(6)
    )


def test_the_webhook_request_itself_only_stores_and_queues_the_event(
    client, paid, django_assert_max_num_queries, settings
):
    """Acknowledged fast: with a broker, the request writes the event row and hands it to
    the queue (the worker does the rest)."""
    from orders import tasks

    order, intent = paid()
    queued = []
    original = tasks.webhook_event_process_task.delay
    tasks.webhook_event_process_task.delay = lambda pk: queued.append(pk)
    try:
        with django_assert_max_num_queries(2):  # the INSERT (PostgreSQL logs one more)
            response = _pay(client, order, intent)
    finally:
        tasks.webhook_event_process_task.delay = original
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert queued == [event.pk] and event.status == "received"
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING  # nothing else happened in the request
    tasks.webhook_event_process_task(event.pk)  # the worker
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED


def test_a_stored_event_whose_task_was_lost_is_processed_by_the_sweeper(client, paid):
    from datetime import timedelta

    from django.utils import timezone

    from orders import tasks
    from orders.services import orders_sweep_undelivered

    order, intent = paid()
    original = tasks.webhook_event_process_task.delay
    tasks.webhook_event_process_task.delay = lambda pk: None  # the broker lost it
    try:
        _pay(client, order, intent)
    finally:
        tasks.webhook_event_process_task.delay = original
    WebhookEvent.objects.update(received_at=timezone.now() - timedelta(minutes=5))
    assert orders_sweep_undelivered().events == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED


def test_blocking_an_email_takes_effect_on_the_next_order(client, paid):
    first, intent = paid(email="buyer@example.com")
    _pay(client, first, intent)  # the blocklist is now cached in this process
    first.refresh_from_db()
    assert first.status == OrderStatus.DELIVERED
    blocklist_add(kind="email", value="Again@Example.com", reason="chargeback")
    second, intent = paid(email="again@example.com")
    _pay(client, second, intent)
    second.refresh_from_db()
    assert second.status == OrderStatus.ON_HOLD
    assert "blocklisted email" in OrderRisk.objects.get(order=second).hold_reasons
    # and removing it (as the admin's delete does) lets the next one through
    BlocklistEntry.objects.get(value="again@example.com").delete()
    third, intent = paid(email="again@example.com")
    _pay(client, third, intent)
    third.refresh_from_db()
    assert third.status == OrderStatus.DELIVERED


def test_changing_the_fraud_settings_takes_effect_on_the_next_order(client, paid):
    first, intent = paid(email="one@example.com")
    _pay(client, first, intent)  # fraud settings cached
    first.refresh_from_db()
    assert first.status == OrderStatus.DELIVERED
    rules = FraudSettings.objects.get(pk=1)
    rules.first_order_amount_threshold = Decimal("1.00")  # every first order is held
    rules.save()
    second, intent = paid(email="two@example.com")
    _pay(client, second, intent)
    second.refresh_from_db()
    assert second.status == OrderStatus.ON_HOLD
    FraudSettings.objects.filter(pk=1).first().delete()  # back to the defaults
    third, intent = paid(email="three@example.com")
    _pay(client, third, intent)
    assert Order.objects.get(pk=third.pk).status == OrderStatus.DELIVERED


def test_activating_another_preset_changes_the_next_emails_time_zone(db):
    from core.shop_clock import shop_time_zone
    from policies.selectors import preset_active_cached_get
    from policies.services import preset_activate, preset_load

    preset_load(slug="allkeymasters", activate=True)
    first = preset_active_cached_get()
    assert shop_time_zone() == first.calendar.time_zone
    other = preset_load(slug="novakeys").preset
    preset_activate(preset=other)
    now_active = preset_active_cached_get()
    assert now_active is not first
    assert now_active == other.rules_get()
    assert shop_time_zone() == other.rules_get().calendar.time_zone


def test_a_preset_edited_in_place_is_read_again(db):
    from policies.models import PolicyPreset
    from policies.selectors import preset_active_cached_get, preset_active_get
    from policies.services import preset_load

    preset_load(slug="allkeymasters", activate=True)
    before = preset_active_cached_get()
    row = PolicyPreset.objects.get(is_active=True)
    rules = dict(row.rules)
    rules["name"] = "Edited in the admin"
    row.rules = rules
    row.save()
    assert preset_active_cached_get() == preset_active_get()
    assert preset_active_cached_get() is not before


def test_a_new_webhook_endpoint_receives_the_next_orders_events(client, paid):
    from webhooks.models import WebhookDelivery, WebhookEndpoint

    first, intent = paid(email="one@example.com")
    _pay(client, first, intent)  # no endpoint: the empty list is cached
    assert not WebhookDelivery.objects.exists()
    WebhookEndpoint.objects.create(
        name="books", url="https://books.example/hook", secret="s" * 32, events=["order.paid"]
    )
    second, intent = paid(email="two@example.com")
    _pay(client, second, intent)
    assert WebhookDelivery.objects.filter(event__type="order.paid").count() == 1
