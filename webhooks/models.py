"""Outgoing webhooks: the merchant's endpoints, the events the shop raised, and every
delivery of an event to an endpoint with each attempt logged.

An event is written in the transaction of the change it reports (one WebhookEvent row and
one WebhookDelivery row per subscribed active endpoint); a delivery is sent after commit,
outside any transaction, by whichever worker leases it (:mod:`webhooks.services`).
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class WebhookEventType(models.TextChoices):
    ORDER_PAID = "order.paid", _("Order paid")
    ORDER_DELIVERED = "order.delivered", _("Order delivered")
    ORDER_ON_HOLD = "order.on_hold", _("Order held for a security check")
    ORDER_REFUNDED = "order.refunded", _("Order refunded (in part or in full)")
    STOCK_LOW = "stock.low", _("Stock low")
    BATCH_QUARANTINED = "batch.quarantined", _("Batch quarantined")
    CLAIM_OPENED = "claim.opened", _("Claim opened")
    CLAIM_DECIDED = "claim.decided", _("Claim decided")
    DISPUTE_CREATED = "dispute.created", _("Dispute created")


class WebhookFormat(models.TextChoices):
    JSON = "json", _("JSON (signed event)")
    SLACK = "slack", _("Slack incoming webhook")
    DISCORD = "discord", _("Discord webhook")


def webhook_secret_new() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """A URL of the merchant's that receives the events it subscribed to."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(
        _("URL"),
        max_length=500,
        help_text=_("An https:// address on the public internet."),
    )
    secret = models.CharField(
        _("signing secret"),
        max_length=100,
        default=webhook_secret_new,
        help_text=_("Deliveries are signed with this secret (Keystore-Signature header)."),
    )
    events = models.JSONField(_("events"), default=list, blank=True)
    format = models.CharField(
        _("format"), max_length=16, choices=WebhookFormat.choices, default=WebhookFormat.JSON
    )
    is_active = models.BooleanField(_("active"), default=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Told by email when the endpoint is disabled after repeated failures."),
    )
    consecutive_failures = models.PositiveIntegerField(_("consecutive failures"), default=0)
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.CharField(_("disabled because"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        constraints = [
            models.CheckConstraint(
                condition=Q(format__in=["json", "slack", "discord"]),
                name="webhook_endpoint_format_known",
            ),
            models.CheckConstraint(condition=~Q(secret=""), name="webhook_endpoint_has_secret"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.url})"


class WebhookEvent(models.Model):
    """One thing that happened, once: its id is the event id every delivery carries."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(_("type"), max_length=40, choices=WebhookEventType.choices)
    dedupe_key = models.CharField(_("dedupe key"), max_length=200, unique=True)
    payload = models.JSONField(_("payload"), default=dict)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("outgoing webhook event")
        verbose_name_plural = _("outgoing webhook events")

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending (leased)")
    SUCCEEDED = "succeeded", _("Delivered (2xx)")
    FAILED = "failed", _("Failed (gave up)")


class WebhookDelivery(models.Model):
    """One event to one endpoint: retried with backoff until ``retry_until``."""

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=WebhookDeliveryStatus.choices,
        default=WebhookDeliveryStatus.PENDING,
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    retry_until = models.DateTimeField(_("retried until"))
    lease_until = models.DateTimeField(_("leased until"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(
        _("last HTTP status"), null=True, blank=True
    )
    last_response_ms = models.PositiveIntegerField(
        _("last response time (ms)"), null=True, blank=True
    )
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    replays = models.PositiveIntegerField(_("replays"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        permissions = [("replay_webhookdelivery", "Can send an outgoing webhook again")]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "endpoint"], name="webhook_delivery_once_per_endpoint"
            ),
            models.CheckConstraint(
                condition=~Q(status="succeeded") | Q(delivered_at__isnull=False),
                name="webhook_delivery_succeeded_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(lease_until__isnull=False),
                name="webhook_delivery_sending_has_lease",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event.type} -> {self.endpoint.name} ({self.status})"


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery: what the receiver answered and how fast."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("started at"))
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    response_ms = models.PositiveIntegerField(_("response time (ms)"), null=True, blank=True)
    succeeded = models.BooleanField(_("succeeded"), default=False)
    error = models.CharField(_("error"), max_length=500, blank=True)

    class Meta:
        ordering = ["delivery_id", "number"]
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        constraints = [
            models.UniqueConstraint(
                fields=["delivery", "number"], name="webhook_attempt_number_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.status_code or self.error[:40]}"
