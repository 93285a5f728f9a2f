"""Customer emails about an order, sent through core's outbox (rendered at send time,
key codes never stored), and the rate-limited resend."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils.translation import gettext as _

from core.emails import email_render
from core.models import OutboundEmail
from core.outbox import RenderedEmail, outbox_enqueue, outbox_send
from core.prepared import PreparedQuery, PreparedUpdate, row_insert
from core.ratelimit import ratelimit_hit
from keys.services import key_codes_for_order_email, key_views_record_email

from ..conf import orders_setting
from ..models import (
    Order,
    OrderConsent,
    OrderEmail,
    OrderEmailKind,
    OrderEmailStatus,
    OrderEventKind,
)
from .errors import OrderError, RateLimited
from .transitions import S, order_event_add

# --- customer emails --------------------------------------------------------------------------


def _order_email_create(
    *, order: Order, kind: str, actor: Any = None, enqueue: bool = True, schedule: bool = True
) -> OrderEmail | None:
    """The email row for ``kind`` (created once per order, except resends), with its
    outbox message unless ``enqueue`` is False. The message is sent after commit, or
    (``schedule=False``) by the delivery task that made it, right after."""
    if kind != OrderEmailKind.RESEND:
        existing = OrderEmail.objects.filter(order=order, kind=kind).first()
        if existing is not None:
            return existing if existing.status != OrderEmailStatus.SENT else None
    email = OrderEmail(
        order=order,
        kind=kind,
        requested_by=actor if getattr(actor, "pk", None) else None,
    )
    row_insert(obj=email)
    if enqueue:
        _order_email_enqueue(email=email, schedule=schedule)
    return email


EMAIL_TEMPLATES: dict[str, str] = {
    OrderEmailKind.DELIVERY: "order_delivered",
    OrderEmailKind.RESEND: "order_delivered",
    OrderEmailKind.HOLD: "order_on_hold",
    OrderEmailKind.BACKORDER: "order_backordered",
    OrderEmailKind.CANCELLED: "order_cancelled",
}
OUTBOX_NAME = "orders.email"  # the renderer and hook registered in OrdersConfig.ready


def _order_email_key(email: OrderEmail) -> str:
    return f"order-email:{email.pk}:{email.kind}"


def _order_emails_without_message():
    """Unsent email rows whose outbox message was never written (same key, in SQL)."""
    key = Concat(
        Value("order-email:"), Cast("pk", CharField()), Value(":"), "kind", output_field=CharField()
    )
    return (
        OrderEmail.objects.filter(status__in=[OrderEmailStatus.PENDING, OrderEmailStatus.FAILED])
        .annotate(outbox_key=key)
        .filter(~Exists(OutboundEmail.objects.filter(idempotency_key=OuterRef("outbox_key"))))
    )


def _order_email_enqueue(*, email: OrderEmail, schedule: bool = True, lease: bool = False):
    """The outbox message of one order email (created once; no key code is stored: the
    body is rendered when it is sent). ``lease``: the email row was just created in this
    transaction, so its message cannot exist yet; it is written leased to the caller
    (``core.outbox.outbox_enqueue``), who sends it after commit."""
    return outbox_enqueue(
        idempotency_key=_order_email_key(email),
        to=[email.order.email],
        renderer=OUTBOX_NAME,
        context={"order_email_id": email.pk},
        hook=OUTBOX_NAME,
        schedule=schedule,
        lease=lease,
    )


def order_email_send(*, email_id: int) -> str:
    """Send one order email now through the outbox; returns sent | failed | busy | done.

    The outbox leases the message, talks to SMTP outside any transaction (no row of the
    order or of its email is locked meanwhile) and marks it sent only once the server
    accepted it; a failure is retried with backoff. The keys stay visible in My Account
    and on the order page meanwhile.
    """
    email = OrderEmail.objects.select_related("order").get(pk=email_id)
    if email.status == OrderEmailStatus.SENT:
        return "done"
    message = _order_email_enqueue(email=email)
    result = outbox_send(message_id=message.pk)
    return {"retry": "failed", "not_due": "busy", "gave_up": "failed"}.get(result, result)


def order_email_render(*, message):
    """The outbox renderer of order emails: rendered at send time, codes included (never
    stored). The key ids shown go to the hook, which audits them once the server accepted."""
    prefetched = getattr(message, "prefetched", None) or {}
    email = prefetched.get("email")
    if email is None or email.pk != message.context["order_email_id"]:
        email, prefetched = (
            OrderEmail.objects.select_related("order").get(pk=message.context["order_email_id"]),
            {},
        )
    order = email.order
    context = _email_context(
        order=order, kind=email.kind, lines=prefetched.get("lines"), keys=prefetched.get("keys")
    )
    rendered = email_render(
        name=EMAIL_TEMPLATES[email.kind], context=context, language=order.language or "en"
    )
    # email_render built the message from rendered strings: str() only narrows the
    # stubs' wider types (lazy strings, MIME objects) for RenderedEmail
    return RenderedEmail(
        subject=str(rendered.subject),
        text=str(rendered.body),
        html=str(rendered.alternatives[0][0]),
        to=[order.email],
        headers={"X-Order-Number": order.number, "X-Order-Email": email.kind},
        facts={"key_ids": context.pop("key_ids")},
    )


# The key email's sent mark, one per paid order (core.prepared).
_EMAIL_MARK_SENT = PreparedUpdate(
    name="orders.email_mark_sent",
    build=lambda *, pk, attempts, sent_at: (
        OrderEmail.objects.filter(pk=pk),
        {"status": OrderEmailStatus.SENT, "attempts": attempts, "last_error": "",
         "sent_at": sent_at},
    ),
    params={"pk": OrderEmail._meta.get_field("id"),
            "attempts": OrderEmail._meta.get_field("attempts"),
            "sent_at": OrderEmail._meta.get_field("sent_at")},
)  # fmt: skip


def order_email_outbox_hook(*, message, event: str, facts: dict[str, Any]) -> None:
    """Told by the outbox (in its transaction) what became of an order email."""
    email = (getattr(message, "prefetched", None) or {}).get("email")
    if event == "accepted" and email is not None and email.pk == message.context["order_email_id"]:
        # The row (and its order) handed over by the delivery that created it: marked with
        # one UPDATE, which locks it as select_for_update would.
        email.status, email.attempts = OrderEmailStatus.SENT, message.attempts
        email.sent_at, email.last_error = message.sent_at, ""
        _EMAIL_MARK_SENT.run(pk=email.pk, attempts=email.attempts, sent_at=email.sent_at)
    else:
        email = (
            OrderEmail.objects.select_for_update(of=("self",))
            .select_related("order")
            .get(pk=message.context["order_email_id"])
        )
        email.attempts = message.attempts
        if event != "accepted":
            email.status = OrderEmailStatus.FAILED
            email.last_error = message.last_error
            email.next_attempt_at = message.next_attempt_at
            email.save(update_fields=["status", "attempts", "last_error", "next_attempt_at"])
            return
        email.status = OrderEmailStatus.SENT
        email.sent_at = message.sent_at
        email.last_error = ""
        email.save(update_fields=["status", "attempts", "last_error", "sent_at"])
    # The codes reached a mail server: only now is the email channel's view audited.
    if facts.get("key_ids"):
        key_views_record_email(key_ids=facts["key_ids"], guest_email=email.order.email)
    order_event_add(
        order=email.order,
        kind=OrderEventKind.EMAIL,
        reason=f"{email.kind} email sent",
        data={"email_id": email.pk, "email_kind": email.kind},
    )


# What the buyer agreed to at checkout, shown in every order email (core.prepared).
CONSENTS_OF_ORDER: PreparedQuery[OrderConsent] = PreparedQuery(
    name="orders.consents_of_order",
    build=lambda *, order_id: OrderConsent.objects.filter(order_id=order_id),
    params={"order_id": Order._meta.get_field("id")},
)


def _email_context(
    *, order: Order, kind: str, lines: list | None = None, keys: list | None = None
) -> dict[str, Any]:
    """What the order email templates show. ``lines`` (all the order's lines, by id, with
    their products) and the order's delivered ``keys`` may be handed over by a caller
    that just read them; the lines are read once otherwise."""
    base = settings.SITE_URL.rstrip("/")
    if lines is None:
        lines = list(order.lines.select_related("product").order_by("id"))
    context: dict[str, Any] = {
        "order": order,
        "kind": kind,
        "consents": CONSENTS_OF_ORDER.fetch(order_id=order.pk),
        "account_url": base + reverse("accounts:dashboard"),
        "tracking_url": base + reverse("orders:track"),
        "order_url": base + reverse("orders:detail", kwargs={"number": order.number}),
        "lines": [],
        "key_ids": [],
        "tax_rate": max((line.tax_rate for line in lines), default=Decimal("0")),
    }
    amounts = {
        line.pk: {"quantity": line.quantity, "discount": line.discount_amount,
                  "total": line.line_total}
        for line in lines
    }  # fmt: skip
    if kind in (OrderEmailKind.DELIVERY, OrderEmailKind.RESEND):
        codes_by_line: dict[int, list[str]] = {}
        for key, code in key_codes_for_order_email(order_id=order.pk, keys=keys):
            if key.order_line_id is not None:  # always set: the order's delivered keys
                codes_by_line.setdefault(key.order_line_id, []).append(code)
            context["key_ids"].append(key.pk)
        for line in lines:
            context["lines"].append(
                {
                    "name": line.product_name,
                    "codes": codes_by_line.get(line.pk, []),
                    "activation": line.product.activation_instructions,
                    **amounts[line.pk],
                }
            )
    else:
        context["lines"] = [
            {"name": line.product_name, "codes": [], "activation": "", **amounts[line.pk]}
            for line in lines
        ]
    return context


def order_email_resend(*, order: Order, actor: Any = None, staff: bool = False) -> OrderEmail:
    """Send the key email again, rate-limited per order (staff have their own, larger cap)."""
    if order.status not in (S.DELIVERED, S.PARTIALLY_REFUNDED, S.DISPUTED):
        raise OrderError(_("The keys of this order have not been delivered yet."))
    if staff:
        limit = orders_setting("STAFF_RESEND_PER_HOUR")
        if not ratelimit_hit(
            scope="resend-staff", key=str(order.pk), limit=limit, window_seconds=3600
        ):
            raise RateLimited(
                _(
                    "Staff already sent this order's keys %(limit)d times in the last hour; "
                    "try again later."
                )
                % {"limit": limit}
            )
    elif not ratelimit_hit(
        scope="resend",
        key=str(order.pk),
        limit=orders_setting("RESEND_PER_HOUR"),
        window_seconds=3600,
    ):
        raise RateLimited(_("The email was sent several times recently. Try again in an hour."))
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        email = _order_email_create(order=locked, kind=OrderEmailKind.RESEND, actor=actor)
        # a resend always gets a new row: only the other kinds can return None
        assert email is not None
        order_event_add(
            order=locked,
            kind=OrderEventKind.EMAIL,
            actor=actor,
            reason="key email re-send requested" + (" by staff" if staff else ""),
            data={"email_id": email.pk if email else None},
        )
    return email
