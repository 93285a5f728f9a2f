"""Periodic jobs: re-drive what a lost task left undone, alert about stale holds,
refund backorders past their deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .. import tasks
from ..conf import orders_setting
from ..models import (
    Order,
    OrderRisk,
    Refund,
    RefundStatus,
    WebhookEvent,
    WebhookEventStatus,
)
from ..selectors import fraud_settings_get
from ._common import _staff_alert
from .cancellation import order_cancel
from .emails import _order_email_enqueue, _order_emails_without_message
from .errors import OrderError
from .refunds import order_refund
from .transitions import S
from .webhook import webhook_events_replay_deferred


@dataclass
class SweepResult:
    deliveries: int = 0
    emails: int = 0
    events: int = 0
    refunds: int = 0


def orders_sweep_undelivered(*, grace_seconds: int | None = None) -> SweepResult:
    """Re-drive everything paid and not delivered, unsent emails, events and refunds."""
    grace = orders_setting("SWEEP_GRACE_SECONDS") if grace_seconds is None else grace_seconds
    cutoff = timezone.now() - timedelta(seconds=grace)
    result = SweepResult()
    due = Order.objects.filter(
        Q(status__in=[S.PAID, S.BACKORDERED], paid_at__lte=cutoff)
        | Q(status=S.ON_HOLD, risk__released_at__isnull=False)
    )
    for pk in due.values_list("pk", flat=True)[:500]:
        tasks.order_deliver_task.delay(str(pk))
        result.deliveries += 1
    # Retries are the outbox's (core.tasks.outbox_sweep); here only an email row whose
    # outbox message was never written (a crash between cancel and refund) gets one.
    unsent = _order_emails_without_message().filter(created_at__lte=cutoff)
    for email in unsent.select_related("order").order_by("id")[:500]:
        _order_email_enqueue(email=email)
        result.emails += 1
    result.events = webhook_events_replay_deferred()
    # events stored by the web process whose task never ran (the broker lost it)
    received = WebhookEvent.objects.filter(
        status=WebhookEventStatus.RECEIVED, received_at__lte=cutoff
    )
    for pk in received.order_by("received_at").values_list("pk", flat=True)[:500]:
        tasks.webhook_event_process_task.delay(pk)
        result.events += 1
    for refund in Refund.objects.filter(
        status__in=[RefundStatus.FAILED, RefundStatus.PENDING],
        gateway_refund_id="",
        updated_at__lte=cutoff,
        attempts__lt=10,
    ).select_related("order")[:100]:
        order_refund(order=refund.order, reason=refund.reason, reference=refund.reference)
        result.refunds += 1
    return result


def orders_alert_stale_holds() -> int:
    """Alert staff once about each hold older than the configured time."""
    minutes = fraud_settings_get().stale_hold_minutes
    cutoff = timezone.now() - timedelta(minutes=minutes)
    stale = list(
        OrderRisk.objects.filter(
            order__status=S.ON_HOLD,
            held_at__lte=cutoff,
            released_at__isnull=True,
            stale_alerted_at__isnull=True,
        ).select_related("order")
    )
    if not stale:
        return 0
    body = "\n".join(
        f"{risk.order.number}  held since {risk.held_at:%Y-%m-%d %H:%M} UTC: "
        + "; ".join(risk.hold_reasons)
        for risk in stale
    )
    with transaction.atomic():  # the alert is written with the marks, or neither
        OrderRisk.objects.filter(pk__in=[r.pk for r in stale]).update(
            stale_alerted_at=timezone.now()
        )
        _staff_alert(
            kind="stale_hold",
            subject=f"{len(stale)} order(s) on security hold for more than {minutes} minutes",
            body=body + "\n\nRelease or cancel them in the admin.",
        )
    return len(stale)


def orders_refund_overdue_backorders() -> int:
    """Refund every backorder past its non-delivery deadline (the policy's clause)."""
    overdue = Order.objects.filter(
        status=S.BACKORDERED, backorder__deadline__lte=timezone.now()
    ).values_list("pk", flat=True)
    count = 0
    for pk in list(overdue[:200]):
        order = Order.objects.get(pk=pk)
        try:
            order_cancel(order=order, reason="not delivered before the non-delivery deadline")
        except OrderError:
            continue  # delivered meanwhile
        count += 1
    return count
