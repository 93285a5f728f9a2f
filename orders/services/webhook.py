"""Stripe webhook intake: the signature checked, the event stored once, then processed
once (payments, expiries, refunds; disputes go to the handlers refunds registers)."""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.money import money_from_minor_units
from core.prepared import row_insert, row_update

from .. import tasks
from ..conf import orders_setting
from ..hooks import DisputeOrderUnknown, dispute_event_handlers
from ..models import (
    ORDER_MACHINE,
    Order,
    OrderEventKind,
    Refund,
    WebhookEvent,
    WebhookEventStatus,
)
from ._prepared import EVENT_LOCKED, order_locked_get
from .payment import order_payment_confirm
from .refunds import EXTERNAL_REFUND_REASON, refund_gateway_update
from .transitions import PAID_STATES, S, order_event_add, order_transition

logger = logging.getLogger(__name__)


class WebhookRejected(Exception):
    """Signature, header or timestamp invalid: answer 400 and store nothing."""


class WebhookMalformed(Exception):
    """Correctly signed, but not the shape of an event: stored as rejected, answered 400."""

    def __init__(self, message: str, event: WebhookEvent) -> None:
        super().__init__(message)
        self.event = event


class EventNotReady(Exception):
    """The event refers to something an earlier event has not created yet."""

    def __init__(self, message: str, order: Order | None = None) -> None:
        super().__init__(message)
        self.order = order


def _webhook_signature_verify(*, raw_body: bytes, signature: str) -> None:
    """Stripe's own check (HMAC over ``t.body``, too old refused), and a timestamp more
    than the tolerance in the future refused too: a signature minted ahead of time would
    otherwise stay valid until that moment has passed."""
    import stripe  # deferred: the Stripe SDK is only loaded for Stripe's webhook

    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret or not signature:
        raise WebhookRejected("missing signature or secret")
    tolerance = orders_setting("WEBHOOK_TOLERANCE_SECONDS")
    try:
        stripe.WebhookSignature.verify_header(raw_body, signature, secret, tolerance=tolerance)
        timestamp = next(
            int(value)
            for name, _sep, value in (item.partition("=") for item in signature.split(","))
            if name.strip() == "t"
        )
    except (ValueError, StopIteration, stripe.SignatureVerificationError) as exc:
        raise WebhookRejected(str(exc)) from exc
    if timestamp > time.time() + tolerance:
        raise WebhookRejected(f"timestamp {timestamp} is in the future")


def _webhook_shape_problem(payload: Any) -> str:
    """Why ``payload`` is not a Stripe event object; "" when it is one."""
    if not isinstance(payload, dict):
        return f"the body is a JSON {type(payload).__name__}, not an object"
    for name in ("id", "type"):
        if not isinstance(payload.get(name), str) or not payload[name].strip():
            return f"{name!r} is missing or not a string"
    data = payload.get("data")
    if not isinstance(data, dict):
        return "'data' is not an object"
    if not isinstance(data.get("object"), dict):
        return "'data.object' is not an object"
    if payload.get("created") is not None and not isinstance(payload["created"], int):
        return "'created' is not an integer"
    return ""


MALFORMED_BODY_KEPT_CHARS = 20_000


def stripe_webhook_receive(*, raw_body: bytes, signature: str, received_at: datetime):
    """Verify the signature against the raw body, then store the event once.

    Raises WebhookRejected (nothing stored) for a bad signature or timestamp, and
    WebhookMalformed (stored once, status rejected) for a signed body that is not an event.
    """
    _webhook_signature_verify(raw_body=raw_body, signature=signature)
    try:
        payload: Any = json.loads(raw_body)
    except (ValueError, RecursionError):
        payload, problem = None, "the body is not JSON"
    else:
        problem = _webhook_shape_problem(payload)
    if problem:  # kept as received (cut), for staff to read
        body = raw_body.decode("utf-8", "replace")[:MALFORMED_BODY_KEPT_CHARS]
        event_id = payload.get("id") if isinstance(payload, dict) else None
        if not isinstance(event_id, str) or not event_id.strip():
            event_id = f"malformed:{hashlib.sha256(raw_body).hexdigest()}"
        event_type = payload.get("type") if isinstance(payload, dict) else None
        event, _created = WebhookEvent.objects.get_or_create(
            event_id=event_id[:255],
            defaults={
                "gateway": "stripe",
                "type": event_type[:100] if isinstance(event_type, str) else "",
                "payload": {"malformed_body": body},
                "received_at": received_at,
                "status": WebhookEventStatus.REJECTED,
                "error": f"malformed event: {problem}",
                "processed_at": received_at,
            },
        )
        raise WebhookMalformed(problem, event)
    created = payload.get("created")
    event_id = payload["id"][:255]
    row = WebhookEvent(
        event_id=event_id,
        gateway="stripe",
        type=payload["type"][:100],
        payload=payload,
        received_at=received_at,
        created_at_gateway=(
            datetime.fromtimestamp(created, tz=UTC) if isinstance(created, int) else None
        ),
    )
    # One INSERT for a new event (the usual case); the unique event id turns a gateway
    # retry into a read of the row stored the first time.
    try:
        if transaction.get_connection().in_atomic_block:
            with transaction.atomic():
                row_insert(obj=row)
        else:
            row_insert(obj=row)
    except IntegrityError:
        return WebhookEvent.objects.get(event_id=event_id)
    return row


FINAL_EVENT_STATES = frozenset(
    {WebhookEventStatus.PROCESSED, WebhookEventStatus.IGNORED, WebhookEventStatus.REJECTED}
)


def webhook_event_enqueue(*, event: WebhookEvent) -> str:
    """Hand a stored event to the task queue; returns "queued", or the status of an event
    already processed (a gateway retry of one: nothing to do). Raises when the broker
    cannot take it (the caller answers an error so the gateway sends it again; the
    sweeper also picks up events left received)."""
    if event.status in (WebhookEventStatus.PROCESSED, WebhookEventStatus.REJECTED):
        return event.status

    tasks.webhook_event_process_task.delay(event.pk)
    return "queued"


def webhook_event_process(*, event_pk: int, replay: bool = False) -> str:
    """Process a stored event exactly once (row lock on the event); returns its new status."""
    with transaction.atomic():
        found = EVENT_LOCKED.fetch(pk=event_pk)
        if not found:
            raise WebhookEvent.DoesNotExist(f"no webhook event {event_pk}")
        event = found[0]
        if _webhook_shape_problem(event.payload):  # stored rejected on receipt; never dispatched
            return event.status
        if not event.type.startswith("charge.dispute."):
            return _stripe_event_process_locked(event=event, replay=replay)
    return _dispute_event_process(event=event, replay=replay)  # may call Stripe: outside


def _stripe_event_process_locked(*, event: WebhookEvent, replay: bool) -> str:
    if event.status in FINAL_EVENT_STATES and not replay:
        return event.status
    event.attempts += 1
    status: str = WebhookEventStatus.PROCESSED
    error, order = "", None
    try:
        with transaction.atomic():
            status, order = _stripe_event_dispatch(event=event)
    except EventNotReady as exc:
        status, error, order = WebhookEventStatus.DEFERRED, str(exc), exc.order
    except Exception as exc:
        logger.exception("webhook event %s failed", event.event_id)
        status, error = WebhookEventStatus.FAILED, f"{type(exc).__name__}: {exc}"
    event.status = status
    event.error = error[:2000]
    fields = ["status", "error", "attempts"]
    if order is not None:
        event.order = order
        fields.append("order")
    if status in FINAL_EVENT_STATES:
        event.processed_at = timezone.now()
        fields.append("processed_at")
    row_update(obj=event, fields=fields)
    return status


def _dispute_event_process(*, event: WebhookEvent, replay: bool) -> str:
    if event.status in FINAL_EVENT_STATES and not (replay or event.status == "ignored"):
        return event.status
    if not dispute_event_handlers:  # no app handles disputes: kept, replayable by staff
        _event_status_set(
            event=event, status=WebhookEventStatus.IGNORED, error="no dispute event handler"
        )
        return WebhookEventStatus.IGNORED
    try:
        for handler in list(dispute_event_handlers):
            handler(event=event.payload)  # may call Stripe: outside our transaction
    except DisputeOrderUnknown as exc:  # the payment's own events come later: retry then
        _event_status_set(
            event=event, status=WebhookEventStatus.DEFERRED, error=str(exc), order=exc.order
        )
        return WebhookEventStatus.DEFERRED
    except Exception as exc:
        logger.exception("dispute event %s failed", event.event_id)
        _event_status_set(event=event, status=WebhookEventStatus.FAILED, error=repr(exc))
        return WebhookEventStatus.FAILED
    _event_status_set(event=event, status=WebhookEventStatus.PROCESSED, error="")
    return WebhookEventStatus.PROCESSED


def _event_status_set(
    *, event: WebhookEvent, status: str, error: str, order: Order | None = None
) -> None:
    """Record a dispute event's outcome; a waiting event is linked to the order it names,
    so that order's payment replays it at once (order_payment_confirm)."""
    with transaction.atomic():
        row = WebhookEvent.objects.select_for_update().get(pk=event.pk)
        row.status = status
        row.error = error[:2000]
        row.attempts += 1
        row.processed_at = timezone.now() if status in FINAL_EVENT_STATES else None
        fields = ["status", "error", "attempts", "processed_at"]
        if order is not None and row.order_id is None:
            row.order = order
            fields.append("order")
        row.save(update_fields=fields)


def _order_for_object(obj: dict, *, lock: bool = False) -> Order | None:
    """The order a gateway object names; ``lock``: read with ``select_for_update`` (the
    caller's transaction would lock it next anyway: one read instead of two)."""
    orders = Order.objects.select_for_update() if lock else Order.objects.all()
    metadata = obj.get("metadata") or {}
    order_id = metadata.get("order_id") or obj.get("client_reference_id")
    if order_id:
        pk = _uuid_or_none(order_id)
        # the usual case, a paid session naming its order: the statement prepared once
        order = order_locked_get(pk=pk) if lock and pk else orders.filter(pk=pk).first()
        if order is not None:
            return order
    if obj.get("object") == "checkout.session" and obj.get("id"):
        return orders.filter(gateway="stripe", gateway_session_id=obj["id"]).first()
    intent = obj.get("payment_intent")
    intent_id = intent.get("id") if isinstance(intent, dict) else intent
    if intent_id:
        return orders.filter(gateway="stripe", gateway_payment_id=intent_id).first()
    return None


def _uuid_or_none(value: str):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _stripe_event_dispatch(*, event: WebhookEvent) -> tuple[str, Order | None]:
    obj = (event.payload.get("data") or {}).get("object") or {}
    kind = event.type
    session_event = kind in (
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
    )
    # a session event changes its order: its row is locked as it is read (after the event's)
    order = _order_for_object(obj, lock=session_event)
    if session_event:
        if order is None:
            return WebhookEventStatus.IGNORED, None
        return _session_event_apply(kind=kind, session=obj, order=order), order
    if kind in ("charge.refunded", "charge.refund.updated", "refund.updated", "refund.created",
                "refund.failed"):  # fmt: skip
        if order is None:
            return WebhookEventStatus.IGNORED, None
        return _refund_event_apply(kind=kind, obj=obj, order=order), order
    return WebhookEventStatus.IGNORED, order


def _session_event_apply(*, kind: str, session: dict, order: Order) -> str:
    """``order``: read with ``select_for_update`` in the caller's transaction."""
    if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        if session.get("payment_status") != "paid":
            order_event_add(
                order=order, kind=OrderEventKind.PAYMENT, reason=f"{kind}: payment not settled yet"
            )
            return WebhookEventStatus.PROCESSED
        intent = session.get("payment_intent")
        result = order_payment_confirm(
            order_id=order.pk,
            amount_minor=int(session.get("amount_total") or 0),
            currency=str(session.get("currency") or ""),
            payment_id=intent.get("id", "") if isinstance(intent, dict) else (intent or ""),
            source=kind,
            locked=order,
        )
        return WebhookEventStatus.REJECTED if result.problem else WebhookEventStatus.PROCESSED
    target = S.FAILED if kind == "checkout.session.async_payment_failed" else S.EXPIRED
    locked = order
    if locked.status in PAID_STATES or locked.status == S.CANCELLED:
        order_event_add(
            order=locked,
            kind=OrderEventKind.NOTE,
            reason=f"{kind} ignored: already {locked.status}",
        )
        return WebhookEventStatus.IGNORED
    if not ORDER_MACHINE.allows(from_status=locked.status, to_status=target):
        return WebhookEventStatus.IGNORED
    order_transition(order=locked, to_status=target, reason=kind)
    return WebhookEventStatus.PROCESSED


def _refund_event_apply(*, kind: str, obj: dict, order: Order) -> str:
    if order.paid_at is None:
        raise EventNotReady(f"order {order.number} is not paid yet", order=order)
    if obj.get("object") == "charge":
        refunds = ((obj.get("refunds") or {}).get("data")) or []
    else:
        refunds = [obj]
    for item in refunds:
        _refund_object_apply(order=order, item=item)
    return WebhookEventStatus.PROCESSED


def _refund_object_apply(*, order: Order, item: dict) -> None:
    refund_gateway_id = item.get("id") or ""
    metadata = item.get("metadata") or {}
    refund = None
    if metadata.get("refund_id", "").isdigit():
        refund = Refund.objects.filter(order=order, pk=int(metadata["refund_id"])).first()
    if refund is None and refund_gateway_id:
        refund = Refund.objects.filter(
            gateway=order.gateway, gateway_refund_id=refund_gateway_id
        ).first()
    if refund is None:
        # Made outside the shop (e.g. the Stripe dashboard): record it so totals agree;
        # applying it decides what happens to the keys (_refund_apply).
        amount = money_from_minor_units(
            minor=item.get("amount"), currency=str(item.get("currency") or order.currency)
        )
        if amount <= 0:
            return
        refund, _created = Refund.objects.get_or_create(
            order=order,
            reason=EXTERNAL_REFUND_REASON,
            reference=refund_gateway_id[:64],
            defaults={
                "amount": min(amount, order.total),
                "currency": order.currency,
                "idempotency_key": f"refund-{order.pk}-gateway-{refund_gateway_id[:64]}",
                "gateway": order.gateway,
                "gateway_refund_id": refund_gateway_id,
                "revoke_keys": False,
            },
        )
    refund_gateway_update(
        refund_id=refund.pk, gateway_refund_id=refund_gateway_id, status=item.get("status", "")
    )


def webhook_events_replay_deferred(*, order_id: Any = None, limit: int = 200) -> int:
    """Re-process deferred / failed events (for one order, or all), oldest first."""
    qs = WebhookEvent.objects.filter(
        status__in=[WebhookEventStatus.DEFERRED, WebhookEventStatus.FAILED], attempts__lt=20
    )
    if order_id is not None:
        qs = qs.filter(order_id=order_id)
    count = 0
    for pk in qs.order_by("received_at").values_list("pk", flat=True)[:limit]:
        webhook_event_process(event_pk=pk)
        count += 1
    return count


def webhook_event_replay(*, event: WebhookEvent) -> str:
    """Staff replay of one stored event (e.g. a dispute that arrived before refunds/ existed)."""
    return webhook_event_process(event_pk=event.pk, replay=event.status != "processed")
