"""Building and signing Stripe events the way Stripe does (t=...,v1=HMAC-SHA256)."""

from __future__ import annotations

import json
import time
import uuid

import stripe

WEBHOOK_SECRET = "whsec_test_orders_secret"
WEBHOOK_URL = "/orders/webhooks/stripe/"


def signature_header(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None):
    """The Stripe-Signature header for ``payload``, computed with the real library."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = stripe.WebhookSignature._compute_signature(f"{timestamp}.{payload}", secret)
    return f"t={timestamp},v1={signed}"


def event_payload(*, type: str, obj: dict, event_id: str | None = None) -> str:
    return json.dumps(
        {
            "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
            "object": "event",
            "type": type,
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": obj},
        }
    )


def session_object(
    order,
    *,
    payment_status: str = "paid",
    amount_total: int | None = None,
    currency: str | None = None,
    payment_intent: str | None = None,
) -> dict:
    return {
        "id": order.gateway_session_id or f"cs_test_{order.pk.hex}",
        "object": "checkout.session",
        "payment_status": payment_status,
        "amount_total": int(order.total * 100) if amount_total is None else amount_total,
        "currency": (currency or order.currency).lower(),
        "client_reference_id": str(order.pk),
        "metadata": {"order_id": str(order.pk), "order_number": order.number},
        "payment_intent": payment_intent or f"pi_{order.pk.hex[:20]}",
        "customer_email": order.email,
    }


def session_event(order, *, type: str = "checkout.session.completed", event_id=None, **kw) -> str:
    return event_payload(type=type, obj=session_object(order, **kw), event_id=event_id)


def post_event(client, payload: str, *, header: str | None = None):
    headers = {} if header == "" else {"HTTP_STRIPE_SIGNATURE": header or signature_header(payload)}
    return client.post(WEBHOOK_URL, data=payload, content_type="application/json", **headers)
