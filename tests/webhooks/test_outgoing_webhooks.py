"""Outgoing webhooks: signed deliveries to a real local receiver, retries with backoff,
disabling a failing endpoint, replay from the admin, events raised by the real flows."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from orders.models import OrderStatus
from orders.services import order_transition, payment_test_card_submit
from tests.factories import ProductFactory, UserFactory, key_code_new, keys_create, order_new
from tests.staff import staff_login
from tests.staff_perms import action_offered, admin_log, staff_with_perms
from webhooks import services
from webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

pytestmark = pytest.mark.django_db(transaction=True)
GOOD_CARD = "4242424242424242"


def verify(*, secret: str, header: str, body: bytes) -> bool:
    """A receiver's check, written from the README and not from the shop's code."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp = parts["t"]
    expected = hmac.new(
        secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256
    ).hexdigest()
    return timestamp.isdigit() and hmac.compare_digest(expected, parts["v1"])


def emit(n: int = 1, *, event: str = "order.paid"):
    """Raise ``event`` (as an app would) in a committed transaction."""
    with transaction.atomic():
        return services.webhook_event_emit(
            event=event, payload={"order": {"number": f"KS-{n}", "total": "9.90"}},
            dedupe_key=f"test:{event}:{n}",
        )  # fmt: skip


def time_passes() -> None:
    """Every pending retry is due now (the sweeper runs on the beat schedule)."""
    WebhookDelivery.objects.filter(status="pending").update(next_attempt_at=timezone.now())


# --- signature, body, event id ------------------------------------------------------------------


def test_a_delivery_is_signed_so_an_independent_hmac_check_accepts_it(receiver, endpoint_for):
    endpoint = endpoint_for(receiver)
    event = emit()

    [got] = receiver.received
    header = got.headers["Keystore-Signature"]
    assert verify(secret=endpoint.secret, header=header, body=got.body)
    assert not verify(secret=endpoint.secret, header=header, body=got.body + b" ")
    assert not verify(secret="whsec_someone_else", header=header, body=got.body)
    document = json.loads(got.body)
    assert document["id"] == str(event.id) == got.headers["Keystore-Event-Id"]
    assert document["type"] == "order.paid" == got.headers["Keystore-Event-Type"]
    assert document["data"] == {"order": {"number": "KS-1", "total": "9.90"}}
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)
    assert delivery.last_response_ms is not None


def test_slack_and_discord_endpoints_get_a_chat_message_signed_the_same_way(receiver, endpoint_for):
    slack = endpoint_for(receiver, name="Slack", format="slack")
    endpoint_for(receiver, name="Discord", format="discord")
    emit()

    bodies = {r.body: r for r in receiver.received}
    documents = [json.loads(body) for body in bodies]
    slack_doc = next(d for d in documents if "text" in d)
    discord_doc = next(d for d in documents if "content" in d)
    assert "order.paid" in slack_doc["text"] and "KS-1" in slack_doc["text"]
    assert "order.paid" in discord_doc["content"] and "9.90" in discord_doc["content"]
    slack_raw = next(r for r in receiver.received if b'"text"' in r.body)
    assert verify(secret=slack.secret, header=slack_raw.headers["Keystore-Signature"],
                  body=slack_raw.body)  # fmt: skip


def test_the_same_event_key_twice_writes_one_event_and_sends_once(receiver, endpoint_for):
    endpoint_for(receiver)
    first, again = emit(), emit()

    assert first.pk == again.pk
    assert WebhookEvent.objects.count() == 1 and WebhookDelivery.objects.count() == 1
    assert len(receiver.received) == 1


def test_only_subscribed_active_endpoints_get_an_event(receiver, endpoint_for):
    endpoint_for(receiver, name="Paid only", events=["order.paid"])
    endpoint_for(receiver, name="Stock only", events=["stock.low"])
    endpoint_for(receiver, name="Off", events=["order.paid"], is_active=False)
    emit()

    assert list(WebhookDelivery.objects.values_list("endpoint__name", flat=True)) == ["Paid only"]
    assert emit(2, event="claim.opened") is None  # nobody listens: nothing written
    assert WebhookEvent.objects.count() == 1


# --- never inside a transaction -------------------------------------------------------------------


def test_nothing_is_sent_inside_a_transaction_only_after_it_commits(receiver, endpoint_for):
    endpoint_for(receiver)
    with transaction.atomic():
        services.webhook_event_emit(event="order.paid", payload={}, dedupe_key="tx")
        delivery = WebhookDelivery.objects.get()
        assert receiver.received == []
        with pytest.raises(RuntimeError, match="not inside a transaction"):
            services.webhook_delivery_send(delivery_id=delivery.pk)
    assert len(receiver.received) == 1


def test_a_rolled_back_change_sends_nothing(receiver, endpoint_for):
    endpoint_for(receiver)
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        services.webhook_event_emit(event="order.paid", payload={}, dedupe_key="rolled-back")
        1 / 0  # noqa: B018
    assert receiver.received == [] and not WebhookEvent.objects.exists()


# --- retries ---------------------------------------------------------------------------------------


def test_a_receiver_that_fails_then_recovers_gets_the_event_after_backoff(receiver, endpoint_for):
    endpoint = endpoint_for(receiver)
    receiver.script = [500, 503]
    event = emit()

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    first = WebhookAttempt.objects.get(delivery=delivery, number=1)
    assert delivery.next_attempt_at > first.started_at  # backed off, not retried in a loop
    assert services.webhook_deliveries_send_due() == 0  # not due yet
    assert len(receiver.received) == 1

    time_passes()
    assert services.webhook_deliveries_send_due() == 1
    time_passes()
    assert services.webhook_deliveries_send_due() == 1
    assert services.webhook_deliveries_send_due() == 0  # delivered: nothing more to do

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 3, 200)
    log = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("number"))
    assert [(a.status_code, a.succeeded) for a in log] == [(500, False), (503, False), (200, True)]
    assert all(a.response_ms is not None for a in log)
    assert {r.headers["Keystore-Event-Id"] for r in receiver.received} == {str(event.id)}
    assert [r.headers["Keystore-Delivery-Attempt"] for r in receiver.received] == ["1", "2", "3"]
    assert all(verify(secret=endpoint.secret, header=r.headers["Keystore-Signature"], body=r.body)
               for r in receiver.received)  # fmt: skip
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0 and endpoint.is_active


def test_a_delivery_gives_up_at_the_end_of_its_retry_window(settings, receiver, endpoint_for):
    settings.WEBHOOKS_RETRY_FOR_SECONDS = 3 * 86400
    endpoint_for(receiver)
    receiver.default = 500
    emit()
    delivery = WebhookDelivery.objects.get()
    assert delivery.retry_until - delivery.created_at >= timedelta(days=3) - timedelta(seconds=5)

    WebhookDelivery.objects.update(retry_until=timezone.now())  # three days went by
    time_passes()
    services.webhook_deliveries_send_due()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 2)
    time_passes()
    assert services.webhook_deliveries_send_due() == 0


def test_a_connection_refused_is_an_attempt_logged_and_retried(endpoint_for):
    dead = type("Dead", (), {"url": "http://127.0.0.1:9/hooks"})()
    endpoint_for(dead)
    emit()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.last_status_code is None
    assert "ConnectionError" in delivery.last_error


# --- a failing endpoint is disabled, its owner told ---------------------------------------------------


def test_an_endpoint_failing_n_times_in_a_row_is_disabled_and_its_owner_told(
    settings, receiver, endpoint_for
):
    settings.WEBHOOKS_DISABLE_AFTER_FAILURES = 3
    settings.WEBHOOKS_DISABLE_AFTER_SECONDS = 0
    owner = UserFactory(email="owner@shop.example", is_staff=True)
    endpoint = endpoint_for(receiver, owner=owner)
    receiver.default = 500

    emit(1)
    emit(2)
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.consecutive_failures == 2
    emit(3)
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.disabled_at is not None
    assert "3 failed deliveries in a row" in endpoint.disabled_reason

    subjects = {(tuple(m.to), m.subject) for m in mail.outbox}
    assert any(to == ("owner@shop.example",) and "disabled" in s for to, s in subjects)
    assert any(to == ("staff@keystore.test",) and "disabled" in s for to, s in subjects)

    emit(4)  # no longer sent to
    time_passes()
    assert services.webhook_deliveries_send_due() == 0
    assert len(receiver.received) == 3


def test_a_success_resets_the_failure_count(settings, receiver, endpoint_for):
    settings.WEBHOOKS_DISABLE_AFTER_FAILURES = 3
    settings.WEBHOOKS_DISABLE_AFTER_SECONDS = 0
    endpoint = endpoint_for(receiver)
    receiver.script = [500, 500, 200, 500, 500]
    for n in range(1, 6):
        emit(n)
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.consecutive_failures == 2


# --- replay from the admin ----------------------------------------------------------------------------


def test_staff_with_the_permission_replays_a_delivery_from_the_admin(
    client, receiver, endpoint_for
):
    endpoint = endpoint_for(receiver)
    event = emit()
    delivery = WebhookDelivery.objects.get()
    manager = staff_with_perms("webhooks.view_webhookdelivery", "webhooks.replay_webhookdelivery")
    staff_login(client=client, user=manager)
    url = reverse("admin:webhooks_webhookdelivery_changelist")
    assert action_offered(client, changelist_url=url, action="replay")

    response = client.post(url, {"action": "replay", "_selected_action": [delivery.pk]})

    assert response.status_code == 302
    assert len(receiver.received) == 2
    again = receiver.received[1]
    assert again.headers["Keystore-Event-Id"] == str(event.id)
    assert verify(secret=endpoint.secret, header=again.headers["Keystore-Signature"],
                  body=again.body)  # fmt: skip
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.replays) == ("succeeded", 2, 1)
    assert admin_log(obj=delivery, user=manager) == ["Sent again (replay)"]


def test_staff_without_the_permission_cannot_replay(client, receiver, endpoint_for):
    endpoint_for(receiver)
    emit()
    delivery = WebhookDelivery.objects.get()
    agent = staff_with_perms("webhooks.view_webhookdelivery", email="agent@example.com")
    staff_login(client=client, user=agent)
    url = reverse("admin:webhooks_webhookdelivery_changelist")
    assert not action_offered(client, changelist_url=url, action="replay")

    client.post(url, {"action": "replay", "_selected_action": [delivery.pk]})

    assert len(receiver.received) == 1
    delivery.refresh_from_db()
    assert delivery.replays == 0 and admin_log(obj=delivery, user=agent) == []


def test_replay_to_a_disabled_endpoint_is_refused_with_a_reason(receiver, endpoint_for):
    endpoint = endpoint_for(receiver)
    emit()
    services.webhook_endpoint_disable(endpoint=endpoint, reason="test")
    with pytest.raises(services.WebhookReplayRefused, match="disabled: enable it first"):
        services.webhook_delivery_replay(delivery=WebhookDelivery.objects.get())


# --- the URL guard ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://hooks.example.com/x", "https:// only"),
        ("https://127.0.0.1/hooks", "private, loopback or reserved"),
        ("https://localhost:8443/hooks", "private, loopback or reserved"),
        ("https://10.1.2.3/hooks", "private, loopback or reserved"),
        ("https://169.254.169.254/latest/meta-data", "private, loopback or reserved"),
        ("https://[::1]/hooks", "private, loopback or reserved"),
        ("ftp://example.com/", "full https:// address"),
        ("https://93.184.216.34/hooks", ""),
    ],
)
def test_production_refuses_plain_http_and_private_targets(settings, url, problem):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    found = services.webhook_url_problem(url=url)
    assert (problem in found) if problem else found == ""


def test_development_accepts_a_local_http_receiver_but_not_plain_http_elsewhere(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    assert services.webhook_url_problem(url="http://127.0.0.1:8001/hooks") == ""
    assert "https://" in services.webhook_url_problem(url="http://93.184.216.34/hooks")


def test_the_admin_form_refuses_a_private_target_in_production_with_the_reason(client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    owner = UserFactory(is_staff=True, is_superuser=True, email="boss@example.com")
    staff_login(client=client, user=owner)
    response = client.post(
        reverse("admin:webhooks_webhookendpoint_add"),
        {"name": "Internal", "url": "https://10.0.0.8/hooks", "format": "json",
         "events": ["order.paid"]},
    )  # fmt: skip
    assert response.status_code == 200
    assert "private, loopback or reserved" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_admin_registers_an_endpoint_owned_by_whoever_added_it(client, receiver):
    owner = UserFactory(is_staff=True, is_superuser=True, email="boss@example.com")
    staff_login(client=client, user=owner)
    response = client.post(
        reverse("admin:webhooks_webhookendpoint_add"),
        {"name": "ERP", "url": receiver.url, "format": "slack",
         "events": ["order.paid", "stock.low"]},
    )  # fmt: skip
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.owner == owner and endpoint.events == ["order.paid", "stock.low"]
    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) > 30


# --- events raised by the real flows --------------------------------------------------------------------


def _types(receiver) -> list[str]:
    return sorted(json.loads(r.body)["type"] for r in receiver.received)


def test_a_paid_order_emits_paid_and_delivered_once_each_even_when_redelivered(
    receiver, endpoint_for
):
    from orders.tasks import order_deliver_task

    product = ProductFactory()
    codes = [key_code_new(product) for _ in range(3)]
    keys_create(product=product, count=3, codes=codes)
    endpoint = endpoint_for(receiver, events=["order.paid", "order.delivered", "order.on_hold"])
    order = order_new(product=product, email="secret-buyer@example.com")

    payment_test_card_submit(session_id=order.gateway_session_id, card_number=GOOD_CARD)
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    assert _types(receiver) == ["order.delivered", "order.paid"]

    order_deliver_task.delay(str(order.pk))  # the broker hands the task out again
    payment_test_card_submit(session_id=order.gateway_session_id, card_number=GOOD_CARD)
    order_transition(order=order, to_status=OrderStatus.DISPUTED, reason="test")
    order_transition(order=order, to_status=OrderStatus.DELIVERED, reason="dispute won")

    assert _types(receiver) == ["order.delivered", "order.paid"]
    assert WebhookEvent.objects.count() == 2
    paid = json.loads(next(r.body for r in receiver.received if b"order.paid" in r.body))
    assert paid["data"]["order"]["number"] == order.number
    assert paid["data"]["order"]["total"] == str(order.total)
    for got in receiver.received:
        assert verify(secret=endpoint.secret, header=got.headers["Keystore-Signature"],
                      body=got.body)  # fmt: skip
        text = got.body.decode()
        assert "secret-buyer" not in text and not any(code in text for code in codes)


def test_a_held_order_emits_on_hold(receiver, endpoint_for):
    product = ProductFactory()
    keys_create(product=product, count=1)
    endpoint_for(receiver, events=["order.on_hold", "order.delivered"])
    order = order_new(product=product)
    payment_test_card_submit(session_id=order.gateway_session_id, card_number="4100000000000019")
    assert _types(receiver) == ["order.on_hold"]


def test_a_refund_emits_order_refunded_with_its_amount(receiver, endpoint_for):
    from orders.services import order_refund

    product = ProductFactory()
    keys_create(product=product, count=1)
    order = order_new(product=product)
    payment_test_card_submit(session_id=order.gateway_session_id, card_number=GOOD_CARD)
    endpoint_for(receiver, events=["order.refunded"])
    order.refresh_from_db()

    order_refund(order=order, reason="goodwill", amount=order.total)
    order_refund(order=order, reason="goodwill", amount=order.total)  # the same refund again

    [got] = receiver.received
    data = json.loads(got.body)["data"]
    assert data["refund"]["amount"] == str(order.total) and data["refund"]["full"] is True
    assert data["order"]["status"] == "refunded"


def test_quarantining_a_batch_emits_batch_quarantined(receiver, endpoint_for):
    from keys.services import batch_quarantine

    product = ProductFactory()
    [key] = keys_create(product=product, count=1)
    endpoint_for(receiver, events=["batch.quarantined"])
    batch_quarantine(batch=key.batch, reason="supplier recalled", actor=None)
    batch_quarantine(batch=key.batch, reason="supplier recalled", actor=None)

    [got] = receiver.received
    batch = json.loads(got.body)["data"]["batch"]
    assert batch["id"] == key.batch_id and batch["reason"] == "supplier recalled"


def test_stock_crossing_its_threshold_emits_stock_low(receiver, endpoint_for):
    from keys.services import stock_alert_check

    product = ProductFactory(low_stock_threshold=5)
    endpoint_for(receiver, events=["stock.low"])
    keys_create(product=product, count=2)  # the import's own stock check crosses it
    assert not stock_alert_check(product_id=product.pk)  # checked again: nothing new

    [got] = receiver.received
    data = json.loads(got.body)["data"]["product"]
    assert (data["sku"], data["available"], data["low_stock_threshold"]) == (product.sku, 2, 5)


def test_the_signing_secret_is_shown_only_to_staff_who_may_change_the_endpoint(
    client, receiver, endpoint_for
):
    endpoint = endpoint_for(receiver)
    url = reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk])
    viewer = staff_with_perms("webhooks.view_webhookendpoint", email="viewer@example.com")
    staff_login(client=client, user=viewer)
    assert endpoint.secret not in client.get(url).content.decode()

    owner = staff_with_perms(
        "webhooks.view_webhookendpoint", "webhooks.change_webhookendpoint", email="o@example.com"
    )
    staff_login(client=client, user=owner)
    assert endpoint.secret in client.get(url).content.decode()
