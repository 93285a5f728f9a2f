"""The real stripe library against the local stand-in: sessions, retries, success page, refunds."""

import threading
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from orders.models import Order, OrderStatus, Refund
from orders.services import order_refund

from .helpers import post_event, session_event

pytestmark = pytest.mark.django_db(transaction=True)


def _checkout(client, product, quantity):
    client.post(reverse("catalog:cart_add", args=[product.slug]), {"quantity": quantity})
    return client.post(
        "/orders/checkout/",
        {
            "billing_name": "Ada Lovelace",
            "email": "ada@example.com",
            "language": "fr",
            "consent_policy_acceptance": "on",
        },
    )


def test_checkout_creates_a_stripe_session_with_lines_email_metadata_and_idempotency_key(
    client, stocked, antimart, stripe_on
):
    response = _checkout(client, stocked, 2)
    order = Order.objects.get()
    [call] = stripe_on.calls("POST", "/v1/checkout/sessions")
    assert response.status_code == 302
    assert response["Location"] == stripe_on.sessions[order.gateway_session_id]["url"]
    assert call.idempotency_key == f"checkout-session-{order.pk}"
    assert call.params["customer_email"] == "ada@example.com"
    assert call.params["metadata"] == {"order_id": str(order.pk), "order_number": order.number}
    [item] = call.params["line_items"]
    assert item["quantity"] == "2"
    assert item["price_data"]["unit_amount"] == "2990"
    assert item["price_data"]["currency"] == "eur"
    assert call.params["success_url"].endswith(
        f"/orders/o/{order.number}/return/?session_id={{CHECKOUT_SESSION_ID}}"
    )


def test_a_timed_out_session_call_is_retried_with_the_same_key_and_makes_one_session(
    client, stocked, antimart, stripe_on
):
    stripe_on.timeout_next = 2.5  # the stand-in does the work, the answer comes too late
    _checkout(client, stocked, 1)
    order = Order.objects.get()
    calls = stripe_on.calls("POST", "/v1/checkout/sessions")
    assert len(calls) == 2
    assert {c.idempotency_key for c in calls} == {f"checkout-session-{order.pk}"}
    assert list(stripe_on.sessions) == [order.gateway_session_id]


def test_the_success_page_completes_the_order_when_stripe_says_paid(
    client, stocked, stripe_order, stripe_on
):
    order = stripe_order(product=stocked, pay=True, risk_level="normal")
    session = client.session
    session["orders_access"] = {str(order.pk): "screen"}
    session.save()
    response = client.get(
        reverse("orders:payment_return", args=[order.number]),
        {"session_id": order.gateway_session_id},
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    assert order.gateway_payment_id.startswith("pi_")
    assert order.risk.risk_level == "normal"
    assert order.risk.card_fingerprint == "fp_test_card"


def test_success_page_then_webhook_deliver_once(client, stocked, stripe_order, stripe_on):
    order = stripe_order(product=stocked)
    session = client.session
    session["orders_access"] = {str(order.pk): "screen"}
    session.save()
    client.get(
        reverse("orders:payment_return", args=[order.number]),
        {"session_id": order.gateway_session_id},
    )
    intent = stripe_on.sessions[order.gateway_session_id]["payment_intent"]
    assert post_event(client, session_event(order, payment_intent=intent)).status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    assert order.lines.get().keys.count() == 1
    assert len([m for m in mail.outbox if order.number in m.subject]) == 1


def test_radar_highest_risk_from_stripe_holds_the_order(client, stocked, stripe_order, stripe_on):
    order = stripe_order(product=stocked, risk_level="highest")
    intent = stripe_on.sessions[order.gateway_session_id]["payment_intent"]
    post_event(client, session_event(order, payment_intent=intent))
    order.refresh_from_db()
    assert order.status == OrderStatus.ON_HOLD
    assert order.risk.risk_level == "highest"
    assert [k.status for k in order.lines.get().keys.all()] == ["reserved"]


def test_refund_goes_to_stripe_once_with_our_idempotency_key(
    client, stocked, stripe_order, stripe_on
):
    order = stripe_order(product=stocked)
    intent = stripe_on.sessions[order.gateway_session_id]["payment_intent"]
    post_event(client, session_event(order, payment_intent=intent))
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED

    first = order_refund(order=order, reason="claim CL-1")
    again = order_refund(order=order, reason="claim CL-1")
    [call] = stripe_on.calls("POST", "/v1/refunds")
    assert first.pk == again.pk
    assert call.idempotency_key == first.idempotency_key == f"refund-{order.pk}-claim CL-1-"
    assert call.params["payment_intent"] == intent
    assert call.params["amount"] == "2990"
    assert call.params["metadata"]["refund_id"] == str(first.pk)
    first.refresh_from_db()
    order.refresh_from_db()
    assert first.status == "succeeded" and first.gateway_refund_id.startswith("re_")
    assert order.status == OrderStatus.REFUNDED
    assert order.refunded_total == Decimal("29.90")
    assert [k.status for k in order.lines.get().keys.all()] == ["revoked"]
    assert Refund.objects.count() == 1


def test_a_timed_out_refund_is_retried_with_the_same_key_and_refunds_once(
    stocked, stripe_order, stripe_on, client
):
    order = stripe_order(product=stocked)
    intent = stripe_on.sessions[order.gateway_session_id]["payment_intent"]
    post_event(client, session_event(order, payment_intent=intent))
    stripe_on.timeout_next = 2.5
    refund = order_refund(order=Order.objects.get(pk=order.pk), reason="support", revoke_keys=False)
    calls = stripe_on.calls("POST", "/v1/refunds")
    assert len(calls) == 2 and len({c.idempotency_key for c in calls}) == 1
    assert len(stripe_on.refunds) == 1
    assert refund.status == "succeeded"


def _risk_lookup(stripe_order, stocked):
    from orders.gateways import StripeGateway

    order = stripe_order(product=stocked, risk_level="elevated", fingerprint="fp_proxy")
    return StripeGateway().risk_get(order=order)


def test_a_proxy_named_by_the_environment_is_still_used_for_stripe_calls(
    stocked, stripe_order, monkeypatch
):
    from orders import gateways

    monkeypatch.setattr(gateways, "_stripe_local", threading.local())
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens: refused
    monkeypatch.setenv("NO_PROXY", "")
    with pytest.raises(gateways.GatewayError):
        _risk_lookup(stripe_order, stocked)
    monkeypatch.setattr(gateways, "_stripe_local", threading.local())
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # the stand-in's host: straight there
    facts = _risk_lookup(stripe_order, stocked)
    assert (facts.risk_level, facts.card_fingerprint) == ("elevated", "fp_proxy")


def test_the_risk_lookup_reads_the_environment_once_per_client_not_per_call(
    stocked, stripe_order, monkeypatch
):
    import requests

    from orders import gateways

    monkeypatch.setattr(gateways, "_stripe_local", threading.local())
    reads = []
    real = requests.utils.get_environ_proxies
    monkeypatch.setattr(
        requests.utils, "get_environ_proxies", lambda *a, **k: reads.append(a) or real(*a, **k)
    )
    for _ in range(3):
        assert _risk_lookup(stripe_order, stocked).risk_level == "elevated"
    assert len(reads) == 1
