"""The notifications outbox: every email the shop sends, customer and staff, goes through here.

- :func:`outbox_enqueue` writes one :class:`~core.models.OutboundEmail` row inside the
  caller's transaction (so the message exists if and only if the change it reports
  committed) and schedules its send on commit. The idempotency key is unique: running
  the same step twice cannot create a second message.
- :func:`outbox_send` claims the row (``select_for_update(skip_locked=True)``, a short
  lease, attempts + 1), commits, renders and talks to SMTP outside any transaction, then
  marks it sent only once the server accepted it. A failure is recorded and retried with
  exponential backoff and jitter; a worker that dies mid-send leaves a lease that expires,
  and the sweeper (:func:`outbox_send_due`, on the beat schedule) hands it to another.
- Secrets stay out of the table: a message with a key code stores no body; a registered
  *renderer* builds it at send time from the ids in ``context``. A registered *hook* is
  told, in the transaction that marks the message, that it was accepted (or that an
  attempt failed): the key-view audit of the email channel is written there, so it exists
  only for a message an SMTP server accepted.
- Staff alerts (:func:`staff_alert_enqueue`) become digests: alerts of one kind raised
  within the window share one message.

``core`` imports no other app: apps register renderers and hooks in ``AppConfig.ready``
with :func:`outbox_renderer_register` and :func:`outbox_hook_register`.
"""

from __future__ import annotations

import logging
import smtplib
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .conf import int_setting_get
from .identity import shop_identity_get
from .models import OutboundEmail, StaffAlert
from .models import OutboundEmailStatus as Status
from .prepared import PreparedUpdate, row_insert
from .retry import retry_backoff, transaction_require_none
from .task_slots import TaskSlot

logger = logging.getLogger(__name__)

DEFAULTS: dict[str, int] = {
    # How long a claimed message is reserved for its worker. Longer than one SMTP
    # conversation (EMAIL_TIMEOUT per socket operation), short enough that a killed
    # worker's message is soon sent by another.
    "OUTBOX_LEASE_SECONDS": 120,
    # Backoff after a failed attempt: base * 2**(attempts-1) seconds, capped, with jitter.
    "OUTBOX_RETRY_BASE_SECONDS": 10,
    "OUTBOX_RETRY_MAX_SECONDS": 900,
    # After this many attempts a message is marked failed (about a day at the cap).
    "OUTBOX_MAX_ATTEMPTS": 100,
    # Staff alerts of one kind raised within this many seconds go out as one digest.
    "OUTBOX_STAFF_DIGEST_SECONDS": 300,
}


def outbox_setting(name: str) -> int:
    """``settings.<NAME>``, else the environment variable of that name, else the default."""
    return int_setting_get(name=name, defaults=DEFAULTS)


# --- the registry (filled by the apps in AppConfig.ready) --------------------------------


@dataclass
class RenderedEmail:
    """What a renderer returns: the message, and facts for the hook (e.g. key ids shown)."""

    subject: str
    text: str
    html: str = ""
    to: list[str] | None = None  # None: the message's stored recipients
    headers: dict[str, str] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Attachment:
    """A file attached to a message at send time (never stored in the outbox row)."""

    filename: str
    content: bytes
    mimetype: str


Renderer = Callable[..., RenderedEmail]  # renderer(*, message) -> RenderedEmail
Hook = Callable[..., None]  # hook(*, message, event, facts); event: accepted | failed
# provider(*, message) -> list[Attachment]; asked at send time, for a renderer's messages
AttachmentProvider = Callable[..., list[Attachment]]

OUTBOX_RENDERERS: dict[str, Renderer] = {}
OUTBOX_HOOKS: dict[str, Hook] = {}
OUTBOX_ATTACHMENTS: dict[str, list[AttachmentProvider]] = {}


def outbox_renderer_register(name: str, renderer: Renderer) -> None:
    OUTBOX_RENDERERS[name] = renderer


def outbox_hook_register(name: str, hook: Hook) -> None:
    OUTBOX_HOOKS[name] = hook


def outbox_attachments_register(renderer: str, provider: AttachmentProvider) -> None:
    """Let an app attach files to the messages of ``renderer`` (e.g. the invoice PDF to an
    order's delivery email): ``provider(message=)`` is called when the message is sent,
    outside any transaction, and returns the files (an empty list for none). A provider
    that fails makes the attempt fail and retry, like a renderer."""
    providers = OUTBOX_ATTACHMENTS.setdefault(renderer, [])
    if provider not in providers:
        providers.append(provider)


# --- enqueue ------------------------------------------------------------------------------


# The task that sends one message (core.tasks.outbox_send_task): core.tasks imports this
# module, so CoreConfig.ready() puts the task here instead of this module importing it.
OUTBOX_SEND_TASK = TaskSlot(label="core.tasks.outbox_send_task")


def _schedule_send(message: OutboundEmail) -> None:
    outbox_send_task = OUTBOX_SEND_TASK.task
    pk = message.pk
    delay = (message.next_attempt_at - timezone.now()).total_seconds()

    def send() -> None:
        if delay > 1 and not _eager():
            outbox_send_task.apply_async(args=(pk,), countdown=int(delay) + 1)
        else:
            outbox_send_task.delay(pk)

    transaction.on_commit(send, robust=True)


def _eager() -> bool:
    return OUTBOX_SEND_TASK.eager()


def outbox_enqueue(
    *,
    idempotency_key: str,
    to: Sequence[str],
    subject: str = "",
    text: str = "",
    html: str = "",
    headers: dict[str, str] | None = None,
    renderer: str = "",
    context: dict[str, Any] | None = None,
    hook: str = "",
    audience: str = "customer",
    send_at=None,
    schedule: bool = True,
    lease: bool = False,
) -> OutboundEmail:
    """The message for ``idempotency_key``, created once (inside the caller's transaction).

    Either pass the rendered ``subject``/``text``/``html`` (nothing secret in them), or a
    registered ``renderer`` and the ids it needs in ``context``. The send is scheduled on
    commit (``schedule=False``: the caller sends it itself right after, e.g. the delivery
    task; the sweeper still covers it); the same key again returns the existing message.

    ``lease=True`` is for a caller whose key cannot exist yet (derived from a row its own
    transaction just created): the message is inserted at once, already leased to the
    caller (status sending, attempt 1), who sends it after commit with
    :func:`outbox_send_leased`; if the caller dies first, the lease expires and the
    sweeper hands the message on, as for a worker that dies mid-send.
    """
    if renderer and renderer not in OUTBOX_RENDERERS:
        raise ValueError(f"no outbox renderer registered as {renderer!r}")
    if hook and hook not in OUTBOX_HOOKS:
        raise ValueError(f"no outbox hook registered as {hook!r}")
    if not renderer and not subject:
        raise ValueError("a stored message needs a subject")
    fields = {
        "idempotency_key": idempotency_key,
        "audience": audience,
        "recipients": list(to),
        "subject": " ".join(subject.split())[:500],
        "body_text": text,
        "body_html": html,
        "headers": headers or {},
        "renderer": renderer,
        "context": context or {},
        "hook": hook,
        "next_attempt_at": send_at or timezone.now(),
    }
    if lease:
        lease_until = timezone.now() + timedelta(seconds=outbox_setting("OUTBOX_LEASE_SECONDS"))
        fields.update(status=Status.SENDING, attempts=1, lease_until=lease_until)
        leased = OutboundEmail(**fields)
        row_insert(obj=leased)  # a clash raises: the key was not new
        return leased
    existing = OutboundEmail.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            message = OutboundEmail(**fields)
            row_insert(obj=message)
    except IntegrityError:  # the same step ran concurrently: its message stands
        return OutboundEmail.objects.get(idempotency_key=idempotency_key)
    if schedule:
        _schedule_send(message)
    return message


# --- send ---------------------------------------------------------------------------------


def _claim(*, message_id: int, now) -> OutboundEmail | str:
    """Lease the message to this worker (a short transaction), or say why not."""
    with transaction.atomic():
        row = (
            OutboundEmail.objects.select_for_update(skip_locked=True).filter(pk=message_id).first()
        )
        if row is None:
            return "busy" if OutboundEmail.objects.filter(pk=message_id).exists() else "missing"
        if row.status == Status.SENT:
            return "done"
        if row.status == Status.FAILED:
            return "gave_up"
        if row.status == Status.SENDING and row.lease_until > now:
            return "busy"
        if row.status == Status.PENDING and row.next_attempt_at > now:
            return "not_due"
        row.status = Status.SENDING
        row.attempts += 1
        row.lease_until = now + timedelta(seconds=outbox_setting("OUTBOX_LEASE_SECONDS"))
        row.save(update_fields=["status", "attempts", "lease_until"])
    return row


def _render(message: OutboundEmail) -> tuple[EmailMultiAlternatives, dict[str, Any]]:
    if message.renderer:
        rendered = OUTBOX_RENDERERS[message.renderer](message=message)
    else:
        rendered = RenderedEmail(
            subject=message.subject, text=message.body_text, html=message.body_html
        )
    email = EmailMultiAlternatives(
        subject=" ".join(rendered.subject.split()),
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(rendered.to if rendered.to is not None else message.recipients),
        headers={**message.headers, **rendered.headers},
    )
    if rendered.html:
        email.attach_alternative(rendered.html, "text/html")
    for provider in OUTBOX_ATTACHMENTS.get(message.renderer, []) if message.renderer else []:
        for attachment in provider(message=message):
            email.attach(attachment.filename, attachment.content, attachment.mimetype)
    return email, rendered.facts


def outbox_send(*, message_id: int) -> str:
    """Send one message at most once per lease; returns what happened.

    sent | retry | failed (gave up now) | done (already sent) | busy (another worker holds
    it) | not_due | gave_up | missing.
    """
    transaction_require_none(what="outbox_send talks to SMTP")
    claimed = _claim(message_id=message_id, now=timezone.now())
    if isinstance(claimed, str):
        return claimed
    return outbox_send_leased(message=claimed)


def outbox_send_leased(*, message: OutboundEmail) -> str:
    """Send a message this worker holds the lease of (claimed by :func:`outbox_send`, or
    created with ``outbox_enqueue(lease=True)``); returns sent | retry | failed | done."""
    transaction_require_none(what="outbox_send talks to SMTP")
    facts: dict[str, Any] = {}
    try:
        email, facts = _render(message)
        _smtp_send(email)
    except Exception as exc:  # SMTP down, refused, timeout, or the renderer failed
        return _attempt_failed(message_id=message.pk, error=exc)
    return _accepted(message=message, facts=facts)


# One SMTP connection per worker process (and thread), kept open across messages: a
# conversation per message instead of a connection (TCP, EHLO, STARTTLS, AUTH) per message.
# It is checked with NOOP after a pause (servers drop idle clients) and dropped after any
# failure, so the next message opens a fresh one.
SMTP_IDLE_CHECK_SECONDS = 10.0
_smtp_local = threading.local()


def _smtp_send(email: EmailMultiAlternatives) -> None:
    backend = getattr(_smtp_local, "backend", None)
    server = (settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT,
              settings.EMAIL_HOST_USER, settings.EMAIL_USE_TLS, settings.EMAIL_USE_SSL)  # fmt: skip
    if backend is not None and getattr(_smtp_local, "server", None) != server:
        _smtp_drop(backend)  # the settings name another server now
        backend = None
    if backend is None:
        backend = get_connection(fail_silently=False)
        if not isinstance(backend, SmtpBackend):  # test outbox, file outbox: as before
            with backend:
                email.connection = backend
                email.send(fail_silently=False)
            return
        _smtp_local.server = server
    now = time.monotonic()
    if backend.connection is not None and now - _smtp_local.used > SMTP_IDLE_CHECK_SECONDS:
        try:
            if backend.connection.noop()[0] != 250:
                raise smtplib.SMTPServerDisconnected("NOOP refused")
        except (smtplib.SMTPException, OSError):
            _smtp_drop(backend)
    try:
        backend.open()  # no-op while the connection is open
        email.connection = backend
        email.send(fail_silently=False)
    except BaseException:
        _smtp_drop(backend)
        raise
    _smtp_local.backend = backend
    _smtp_local.used = time.monotonic()


def _smtp_drop(backend) -> None:
    try:
        backend.close()
    except Exception:  # noqa: BLE001 - a broken connection may fail to close
        backend.connection = None
    _smtp_local.backend = None


# Every message's sent mark: built by the ORM once per process (core.prepared).
_MARK_SENT = PreparedUpdate(
    name="core.outbox_mark_sent",
    build=lambda *, pk, sent_at: (
        OutboundEmail.objects.filter(pk=pk).exclude(status=Status.SENT),
        {"status": Status.SENT, "sent_at": sent_at, "lease_until": None, "last_error": ""},
    ),
    params={"pk": OutboundEmail._meta.get_field("id"),
            "sent_at": OutboundEmail._meta.get_field("sent_at")},
)  # fmt: skip


def _accepted(*, message: OutboundEmail, facts: dict[str, Any]) -> str:
    now = timezone.now()
    with transaction.atomic():
        # One UPDATE both locks the row and marks it; 0 rows: another worker took over an
        # expired lease and won.
        won = _MARK_SENT.run(pk=message.pk, sent_at=now)
        if not won:
            return "done"
        row = message
        row.status, row.sent_at, row.lease_until, row.last_error = Status.SENT, now, None, ""
        if row.hook:
            OUTBOX_HOOKS[row.hook](message=row, event="accepted", facts=facts)
    logger.info("outbox: %s accepted (attempt %d)", row.idempotency_key, row.attempts)
    return "sent"


def _attempt_failed(*, message_id: int, error: Exception) -> str:
    with transaction.atomic():
        row = OutboundEmail.objects.select_for_update().get(pk=message_id)
        if row.status == Status.SENT:
            return "done"
        row.last_error = f"{type(error).__name__}: {error}"[:500]
        row.lease_until = None
        gave_up = row.attempts >= outbox_setting("OUTBOX_MAX_ATTEMPTS")
        row.status = Status.FAILED if gave_up else Status.PENDING
        row.next_attempt_at = timezone.now() + retry_backoff(
            attempts=row.attempts,
            base_seconds=outbox_setting("OUTBOX_RETRY_BASE_SECONDS"),
            max_seconds=outbox_setting("OUTBOX_RETRY_MAX_SECONDS"),
        )
        row.save(update_fields=["status", "last_error", "lease_until", "next_attempt_at"])
        if not gave_up and not _eager():
            # a send task due at next_attempt_at; in-process (no broker) the sweeper
            # retries, so a web request never loops on a dead server
            _schedule_send(row)
        if row.hook:
            OUTBOX_HOOKS[row.hook](message=row, event="failed", facts={})
        if gave_up and row.audience != "staff":
            staff_alert_enqueue(
                kind="outbox",
                subject=f"An email could not be sent: {row.idempotency_key}",
                body=f"Gave up after {row.attempts} attempts. Last error: {row.last_error}",
            )
    logger.warning("outbox: %s attempt %d failed: %s", row.idempotency_key, row.attempts, error)
    return "failed" if gave_up else "retry"


def outbox_due_ids(*, limit: int = 500) -> list[int]:
    """Messages due now: pending and due, or sending with an expired lease (a dead worker)."""
    now = timezone.now()
    return list(
        OutboundEmail.objects.filter(
            Q(status=Status.PENDING, next_attempt_at__lte=now)
            | Q(status=Status.SENDING, lease_until__lte=now)
        )
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


def outbox_send_due(*, limit: int = 500) -> int:
    """The sweeper: hand every due message to a send task. Returns how many."""
    ids = outbox_due_ids(limit=limit)
    for pk in ids:
        OUTBOX_SEND_TASK.task.delay(pk)
    return len(ids)


# --- staff alerts as digests ----------------------------------------------------------------


def _staff_digest_render(*, message: OutboundEmail) -> RenderedEmail:
    alerts = list(message.staff_alerts.order_by("created_at", "id"))
    prefix = f"[{shop_identity_get().name}]"
    if not alerts:
        raise RuntimeError("a staff digest with no alert")
    if len(alerts) == 1:
        return RenderedEmail(subject=f"{prefix} {alerts[0].subject}", text=alerts[0].body)
    subject = f"{prefix} {len(alerts)} alerts: {alerts[0].subject}"
    parts = [
        f"{index}. {alert.subject}  ({alert.created_at:%Y-%m-%d %H:%M} UTC)\n{alert.body}".rstrip()
        for index, alert in enumerate(alerts, start=1)
    ]
    return RenderedEmail(subject=subject, text="\n\n".join(parts) + "\n")


outbox_renderer_register("core.staff_digest", _staff_digest_render)


def staff_alert_enqueue(
    *, kind: str, subject: str, body: str, dedupe_key: str | None = None
) -> StaffAlert | None:
    """Tell staff something (inside the caller's transaction, sent after commit).

    The alert joins its kind's open digest (a message not yet handed to a worker), or
    opens one due at the end of the digest window. A ``dedupe_key`` makes the alert once
    only (a redelivered task cannot alert twice); returns None when it was already raised.
    """
    window = outbox_setting("OUTBOX_STAFF_DIGEST_SECONDS")
    with transaction.atomic():
        if dedupe_key and StaffAlert.objects.filter(dedupe_key=dedupe_key).exists():
            return None
        digest = (
            OutboundEmail.objects.select_for_update()
            .filter(
                audience="staff",
                renderer="core.staff_digest",
                context__kind=kind,
                status=Status.PENDING,
                attempts=0,
            )
            .order_by("-id")
            .first()
        )
        if digest is None:
            digest = outbox_enqueue(
                idempotency_key=f"staff:{kind}:{uuid.uuid4().hex}",
                to=settings.STAFF_ALERT_EMAILS,
                renderer="core.staff_digest",
                context={"kind": kind},
                audience="staff",
                send_at=timezone.now() + timedelta(seconds=window),
            )
        elif digest.next_attempt_at <= timezone.now():
            _schedule_send(digest)  # already due: do not wait for the sweeper
        try:
            with transaction.atomic():
                return StaffAlert.objects.create(
                    kind=kind,
                    dedupe_key=dedupe_key or None,
                    subject=subject[:300],
                    body=body,
                    digest=digest,
                )
        except IntegrityError:  # the same alert raised concurrently
            return None
