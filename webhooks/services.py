"""Outgoing webhooks: emit events inside the caller's transaction, send them after commit.

- :func:`webhook_event_emit` is called by the app where something happened, inside its
  transaction: it writes one :class:`WebhookEvent` (once per ``dedupe_key``: a step that
  runs twice emits once) and one :class:`WebhookDelivery` per active endpoint subscribed
  to the event, and schedules each send on commit. No endpoint subscribed: nothing written.
- :func:`webhook_delivery_send` leases the delivery (short transaction), signs the body and
  POSTs it with ``requests`` outside any transaction (short timeouts, no redirects), then
  logs the attempt (status code, response time) and marks it delivered on a 2xx, or
  schedules a retry with exponential backoff and jitter until ``retry_until`` (three days).
  The sweeper (:func:`webhook_deliveries_send_due`, on the beat schedule) re-drives due
  retries and deliveries of a worker that died; the same design as :mod:`core.outbox`.
- An endpoint failing ``WEBHOOKS_DISABLE_AFTER_FAILURES`` times in a row, for at least
  ``WEBHOOKS_DISABLE_AFTER_SECONDS``, is disabled; staff and its owner are told.
- Signature (the scheme Stripe uses): ``Keystore-Signature: t=<unix>,v1=<hex>`` where
  ``<hex>`` is HMAC-SHA256 of ``"<t>." + raw body`` keyed with the endpoint's secret.

``webhooks`` imports only ``core``: payloads are built by the app that emits the event.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.conf import int_setting_get
from core.identity import shop_identity_get
from core.outbox import outbox_enqueue, staff_alert_enqueue
from core.retry import retry_backoff, transaction_require_none
from core.task_slots import TaskSlot
from core.versioned_cache import versioned_cache_get

from .models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WebhookEventType,
    WebhookFormat,
)
from .models import WebhookDeliveryStatus as Status

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Keystore-Signature"

DEFAULTS: dict[str, int] = {
    # How long a leased delivery is reserved for its worker (longer than one request).
    "WEBHOOKS_LEASE_SECONDS": 60,
    # Backoff after a failed attempt: base * 2**(attempts-1) seconds, capped, with jitter.
    "WEBHOOKS_RETRY_BASE_SECONDS": 30,
    "WEBHOOKS_RETRY_MAX_SECONDS": 3 * 3600,
    # A delivery is retried for this long after it was created (or replayed), then failed.
    "WEBHOOKS_RETRY_FOR_SECONDS": 3 * 86400,
    # An endpoint is disabled after this many failed attempts in a row...
    "WEBHOOKS_DISABLE_AFTER_FAILURES": 20,
    # ...that span at least this long (a short outage with many events does not disable it).
    "WEBHOOKS_DISABLE_AFTER_SECONDS": 86400,
    # requests timeouts: connect, read.
    "WEBHOOKS_CONNECT_TIMEOUT_SECONDS": 3,
    "WEBHOOKS_READ_TIMEOUT_SECONDS": 10,
}


def webhooks_setting(name: str) -> int:
    """``settings.<NAME>``, else the environment variable of that name, else the default."""
    return int_setting_get(name=name, defaults=DEFAULTS)


def webhooks_private_targets_allowed() -> bool:
    """Loopback/private targets and plain http are for development and tests only."""
    value = getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_TARGETS", None)
    if value is None:
        return not getattr(settings, "PRODUCTION", False)
    return bool(value)


# --- the URL guard ---------------------------------------------------------------------------


def _address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def webhook_url_problem(*, url: str) -> str:
    """Why the shop must not POST to ``url`` (a sentence for staff), or "" when it may.

    Production: https only, and every address the host resolves to must be public (no
    loopback, private, link-local or reserved range: the shop must not be turned against
    its own network). Development and tests also accept http to a loopback address.
    """
    parts = urlsplit(url or "")
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        return _("Enter a full https:// address, e.g. https://example.com/hooks/keystore.")
    private_ok = webhooks_private_targets_allowed()
    https_only = _(
        "Webhooks are sent over https:// only (plain http:// is accepted for a local "
        "receiver in development)."
    )
    if parts.scheme == "http" and not private_ok:
        return https_only
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return _("The port in this address is not a number between 1 and 65535.")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return _("The host %(host)s could not be resolved.") % {"host": host}
    addresses = sorted({str(info[4][0]) for info in infos})  # (host, port, ...) for TCP
    public = all(_address_is_public(address) for address in addresses)
    if parts.scheme == "http":
        loopback = all(ipaddress.ip_address(a.split("%", 1)[0]).is_loopback for a in addresses)
        if not loopback:
            return https_only
    if not public and not private_ok:
        return _(
            "%(host)s resolves to a private, loopback or reserved address (%(addresses)s): "
            "webhooks are only sent to hosts on the public internet."
        ) % {"host": host, "addresses": ", ".join(addresses)}
    return ""


# --- signing and bodies ------------------------------------------------------------------------


def webhook_signature_header(*, secret: str, body: bytes, timestamp: int) -> str:
    """``t=<unix>,v1=<hex HMAC-SHA256 of "<unix>." + body>``."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _summary(event: WebhookEvent) -> str:
    """One line for a chat channel, from the payload's plain fields."""
    label = WebhookEventType(event.type).label if event.type in WebhookEventType.values else ""
    data = event.payload or {}
    subject = next((v for v in data.values() if isinstance(v, dict)), data)
    fields = [
        f"{name}: {value}"
        for name, value in subject.items()
        if isinstance(value, str | int | float) and not isinstance(value, bool) and value != ""
    ]
    shop = ""
    try:
        shop = shop_identity_get().name
    except Exception:  # noqa: BLE001 -- a chat line without the shop name is still useful
        shop = ""
    head = f"[{shop}] " if shop else ""
    return f"{head}{label or event.type} ({event.type}): " + ", ".join(fields[:8])


def webhook_body_render(*, event: WebhookEvent, endpoint_format: str) -> bytes:
    """The exact bytes sent (and signed) for ``event`` in the endpoint's format."""
    if endpoint_format == WebhookFormat.SLACK:
        document: dict[str, Any] = {"text": _summary(event)}
    elif endpoint_format == WebhookFormat.DISCORD:
        document = {"content": _summary(event)[:2000]}
    else:
        document = {
            "id": str(event.id),
            "type": event.type,
            "created": int(event.created_at.timestamp()),
            "data": event.payload,
        }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


# --- emit --------------------------------------------------------------------------------------


# The process-local copy of the active endpoints (core.versioned_cache), bumped on every
# change of an endpoint row (webhooks.apps: post_save / post_delete): every order raises
# events, and a shop changes its endpoints rarely.
ENDPOINTS_ACTIVE_CACHE = "webhooks.endpoints_active"


def _endpoints_active_load() -> tuple[WebhookEndpoint, ...]:
    return tuple(WebhookEndpoint.objects.filter(is_active=True).order_by("id"))


def webhook_endpoints_subscribed(*, event: str) -> list[WebhookEndpoint]:
    # JSON "contains" is not portable to SQLite; endpoints are few, filter here.
    return [
        endpoint
        for endpoint in versioned_cache_get(
            name=ENDPOINTS_ACTIVE_CACHE, loader=_endpoints_active_load
        )
        if event in (endpoint.events or [])
    ]


# The task that sends one delivery (webhooks.tasks.webhook_delivery_send_task): that module
# imports this one, so WebhooksConfig.ready() puts the task here instead.
WEBHOOK_DELIVERY_SEND_TASK = TaskSlot(label="webhooks.tasks.webhook_delivery_send_task")


def _schedule_send(delivery_id: int, *, countdown: int = 0) -> None:
    webhook_delivery_send_task = WEBHOOK_DELIVERY_SEND_TASK.task

    def send() -> None:
        if countdown > 0 and not _eager():
            webhook_delivery_send_task.apply_async(args=(delivery_id,), countdown=countdown)
        else:
            webhook_delivery_send_task.delay(delivery_id)

    transaction.on_commit(send, robust=True)


def _eager() -> bool:
    return WEBHOOK_DELIVERY_SEND_TASK.eager()


def webhook_event_emit(
    *,
    event: str,
    payload: dict[str, Any] | Callable[[], dict[str, Any]],
    dedupe_key: str,
) -> WebhookEvent | None:
    """Record that ``event`` happened (inside the caller's transaction) and schedule its
    deliveries on commit. Once per ``dedupe_key``: the same step again returns the event
    already written and sends nothing more. None when no active endpoint subscribes.

    ``payload`` may be a function, called only when some endpoint wants the event (a shop
    without endpoints pays one query per event). Ids, numbers, statuses and amounts as
    strings: never a key code or a customer's secret.
    """
    if event not in WebhookEventType.values:
        raise ValueError(f"unknown webhook event {event!r}")
    endpoints = webhook_endpoints_subscribed(event=event)
    if not endpoints:
        return None
    existing = WebhookEvent.objects.filter(dedupe_key=dedupe_key).first()
    if existing is not None:
        return existing
    if callable(payload):
        payload = payload()
    retry_until = timezone.now() + timedelta(seconds=webhooks_setting("WEBHOOKS_RETRY_FOR_SECONDS"))
    try:
        with transaction.atomic():
            row = WebhookEvent.objects.create(type=event, dedupe_key=dedupe_key, payload=payload)
            deliveries = WebhookDelivery.objects.bulk_create(
                [
                    WebhookDelivery(event=row, endpoint=endpoint, retry_until=retry_until)
                    for endpoint in endpoints
                ]
            )
    except IntegrityError:  # the same step ran concurrently: its event stands
        return WebhookEvent.objects.get(dedupe_key=dedupe_key)
    for delivery in deliveries:
        if delivery.pk is None:  # a backend that does not return ids from bulk inserts
            delivery = WebhookDelivery.objects.get(event=row, endpoint=delivery.endpoint)
        _schedule_send(delivery.pk)
    return row


# --- send --------------------------------------------------------------------------------------


def _claim(*, delivery_id: int, now: datetime) -> WebhookDelivery | str:
    """Lease the delivery to this worker (a short transaction), or say why not."""
    with transaction.atomic():
        row = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(pk=delivery_id)
            .first()
        )
        if row is None:
            return "busy" if WebhookDelivery.objects.filter(pk=delivery_id).exists() else "missing"
        if row.status == Status.SUCCEEDED:
            return "done"
        if row.status == Status.FAILED:
            return "gave_up"
        # (a sending row always has a lease: the table's check constraint)
        if row.status == Status.SENDING and row.lease_until and row.lease_until > now:
            return "busy"
        if row.status == Status.PENDING and row.next_attempt_at > now:
            return "not_due"
        if not WebhookEndpoint.objects.filter(pk=row.endpoint_id, is_active=True).exists():
            return "endpoint_disabled"
        row.status = Status.SENDING
        row.attempts += 1
        row.lease_until = now + timedelta(seconds=webhooks_setting("WEBHOOKS_LEASE_SECONDS"))
        row.save(update_fields=["status", "attempts", "lease_until"])
    return row


def _post(*, endpoint: WebhookEndpoint, event: WebhookEvent, attempt: int):
    """One POST; returns (status_code or None, elapsed ms, error text)."""
    problem = webhook_url_problem(url=endpoint.url)  # checked again: DNS may have changed
    if problem:
        return None, None, f"refused: {problem}"
    body = webhook_body_render(event=event, endpoint_format=endpoint.format)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Keystore-Webhooks/1",
        SIGNATURE_HEADER: webhook_signature_header(
            secret=endpoint.secret, body=body, timestamp=int(time.time())
        ),
        "Keystore-Event-Id": str(event.id),
        "Keystore-Event-Type": event.type,
        "Keystore-Delivery-Attempt": str(attempt),
    }
    timeout = (
        webhooks_setting("WEBHOOKS_CONNECT_TIMEOUT_SECONDS"),
        webhooks_setting("WEBHOOKS_READ_TIMEOUT_SECONDS"),
    )
    started = time.monotonic()
    try:
        response = requests.post(
            endpoint.url, data=body, headers=headers, timeout=timeout, allow_redirects=False
        )
    except Exception as exc:  # noqa: BLE001 -- refused, timeout, bad URL: a failed attempt
        elapsed = int((time.monotonic() - started) * 1000)
        return None, elapsed, f"{type(exc).__name__}: {exc}"
    elapsed = int((time.monotonic() - started) * 1000)
    response.close()
    if 200 <= response.status_code < 300:
        return response.status_code, elapsed, ""
    return response.status_code, elapsed, f"HTTP {response.status_code}"


def webhook_delivery_send(*, delivery_id: int) -> str:
    """Send one delivery at most once per lease; returns what happened.

    sent | retry | failed (gave up now) | done (already delivered) | busy | not_due |
    gave_up | endpoint_disabled | missing.
    """
    transaction_require_none(what="webhook_delivery_send makes an HTTP request")
    started_at = timezone.now()
    claimed = _claim(delivery_id=delivery_id, now=started_at)
    if isinstance(claimed, str):
        return claimed
    delivery = WebhookDelivery.objects.select_related("event", "endpoint").get(pk=claimed.pk)
    status_code, elapsed, error = _post(
        endpoint=delivery.endpoint, event=delivery.event, attempt=claimed.attempts
    )
    return _attempt_record(
        delivery_id=delivery.pk,
        endpoint_id=delivery.endpoint_id,
        number=claimed.attempts,
        started_at=started_at,
        status_code=status_code,
        elapsed=elapsed,
        error=error,
    )


def _attempt_record(
    *,
    delivery_id: int,
    endpoint_id: int,
    number: int,
    started_at: datetime,
    status_code: int | None,
    elapsed: int | None,
    error: str,
) -> str:
    """Log the attempt and move the delivery and its endpoint (locked endpoint -> delivery)."""
    now = timezone.now()
    ok = not error
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
        row = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        WebhookAttempt.objects.get_or_create(
            delivery=row,
            number=number,
            defaults={
                "started_at": started_at,
                "status_code": status_code,
                "response_ms": elapsed,
                "succeeded": ok,
                "error": error[:500],
            },
        )
        if row.status == Status.SUCCEEDED:  # another worker took over an expired lease and won
            return "done"
        row.last_status_code = status_code
        row.last_response_ms = elapsed
        row.last_error = error[:500]
        row.lease_until = None
        fields = ["status", "last_status_code", "last_response_ms", "last_error", "lease_until"]
        if ok:
            row.status = Status.SUCCEEDED
            row.delivered_at = now
            fields.append("delivered_at")
            result = "sent"
            if endpoint.consecutive_failures or endpoint.failing_since:
                endpoint.consecutive_failures = 0
                endpoint.failing_since = None
                endpoint.save(update_fields=["consecutive_failures", "failing_since", "updated_at"])
        else:
            next_at = now + retry_backoff(
                attempts=row.attempts,
                base_seconds=webhooks_setting("WEBHOOKS_RETRY_BASE_SECONDS"),
                max_seconds=webhooks_setting("WEBHOOKS_RETRY_MAX_SECONDS"),
            )
            gave_up = next_at > row.retry_until
            row.status = Status.FAILED if gave_up else Status.PENDING
            row.next_attempt_at = next_at
            fields.append("next_attempt_at")
            result = "failed" if gave_up else "retry"
            _endpoint_failure_count(endpoint=endpoint, now=now, error=error)
            if not gave_up and not _eager():
                # a send task due then; in-process (no broker) the sweeper retries, so a web
                # request never loops on a dead receiver
                _schedule_send(row.pk, countdown=int((next_at - now).total_seconds()) + 1)
        row.save(update_fields=fields)
    log = logger.info if ok else logger.warning
    log("webhook delivery %s attempt %d: %s %s", delivery_id, number, result, error)
    return result


def _endpoint_failure_count(*, endpoint: WebhookEndpoint, now: datetime, error: str) -> None:
    """Inside the endpoint lock: one more failure in a row; disable it when it keeps failing."""
    endpoint.consecutive_failures += 1
    endpoint.failing_since = endpoint.failing_since or now
    fields = ["consecutive_failures", "failing_since", "updated_at"]
    enough = endpoint.consecutive_failures >= webhooks_setting("WEBHOOKS_DISABLE_AFTER_FAILURES")
    span = timedelta(seconds=webhooks_setting("WEBHOOKS_DISABLE_AFTER_SECONDS"))
    if endpoint.is_active and enough and now - endpoint.failing_since >= span:
        endpoint.is_active = False
        endpoint.disabled_at = now
        endpoint.disabled_reason = (
            f"{endpoint.consecutive_failures} failed deliveries in a row since "
            f"{endpoint.failing_since:%Y-%m-%d %H:%M} UTC; last error: {error}"
        )[:300]
        fields += ["is_active", "disabled_at", "disabled_reason"]
        _endpoint_disabled_notify(endpoint=endpoint)
    endpoint.save(update_fields=fields)


def _endpoint_disabled_notify(*, endpoint: WebhookEndpoint) -> None:
    """Staff alert, and an email to the endpoint's owner (both through the outbox)."""
    key = f"webhook-disabled:{endpoint.pk}:{endpoint.disabled_at:%Y%m%dT%H%M%S%f}"
    subject = _("Webhook endpoint disabled: %(name)s") % {"name": endpoint.name}
    body = _(
        "The webhook endpoint %(name)s (%(url)s) kept failing and was disabled: "
        "%(reason)s\nNo more events are sent to it until it is enabled again in the admin "
        "(Webhook endpoints); failed deliveries can then be sent again from Webhook "
        "deliveries."
    ) % {"name": endpoint.name, "url": endpoint.url, "reason": endpoint.disabled_reason}
    staff_alert_enqueue(kind="webhooks", subject=subject, body=body, dedupe_key=key)
    owner_email = getattr(endpoint.owner, "email", "") if endpoint.owner_id else ""
    if owner_email:
        outbox_enqueue(
            idempotency_key=f"{key}:owner",
            to=[owner_email],
            subject=subject,
            text=body,
            audience="staff",
        )


def webhook_deliveries_due_ids(*, limit: int = 500) -> list[int]:
    """Due now: pending and due, or sending with an expired lease (a dead worker); only
    for active endpoints (a disabled endpoint's deliveries wait until it is enabled)."""
    now = timezone.now()
    return list(
        WebhookDelivery.objects.filter(
            Q(status=Status.PENDING, next_attempt_at__lte=now)
            | Q(status=Status.SENDING, lease_until__lte=now),
            endpoint__is_active=True,
        )
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


def webhook_deliveries_send_due(*, limit: int = 500) -> int:
    """The sweeper: hand every due delivery to a send task. Returns how many."""
    ids = webhook_deliveries_due_ids(limit=limit)
    for pk in ids:
        WEBHOOK_DELIVERY_SEND_TASK.task.delay(pk)
    return len(ids)


# --- staff ---------------------------------------------------------------------------------------


class WebhookReplayRefused(Exception):
    pass


def webhook_delivery_replay(*, delivery: WebhookDelivery, actor: Any = None) -> WebhookDelivery:
    """Send a delivery again (same event id, new signature), retried for another window.

    Refused while it is being sent or while its endpoint is disabled."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
        row = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        if not endpoint.is_active:
            raise WebhookReplayRefused(
                _("The endpoint %(name)s is disabled: enable it first.") % {"name": endpoint.name}
            )
        if row.status == Status.SENDING and row.lease_until and row.lease_until > timezone.now():
            raise WebhookReplayRefused(_("This delivery is being sent right now."))
        now = timezone.now()
        row.status = Status.PENDING
        row.next_attempt_at = now
        row.lease_until = None
        row.retry_until = now + timedelta(seconds=webhooks_setting("WEBHOOKS_RETRY_FOR_SECONDS"))
        row.replays += 1
        row.save(
            update_fields=["status", "next_attempt_at", "lease_until", "retry_until", "replays"]
        )
        _schedule_send(row.pk)
    return row


def webhook_endpoint_enable(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Put a disabled endpoint back in service with a clean failure count."""
    with transaction.atomic():
        row = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        row.is_active = True
        row.consecutive_failures = 0
        row.failing_since = None
        row.disabled_at = None
        row.disabled_reason = ""
        row.save()
    return row


def webhook_endpoint_disable(*, endpoint: WebhookEndpoint, reason: str) -> WebhookEndpoint:
    """Stop sending to an endpoint (its pending deliveries wait until it is enabled)."""
    with transaction.atomic():
        row = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if row.is_active:
            row.is_active = False
            row.disabled_at = timezone.now()
            row.disabled_reason = reason[:300]
            row.save(update_fields=["is_active", "disabled_at", "disabled_reason", "updated_at"])
    return row
