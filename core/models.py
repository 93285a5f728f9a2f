"""Models of the foundation layer (see the package docstring)."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboundEmailStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending (leased)")
    SENT = "sent", _("Accepted by the mail server")
    FAILED = "failed", _("Failed (gave up)")


class OutboundEmail(models.Model):
    """One email the shop sends (customer or staff): the notifications outbox.

    Written in the transaction of the change it reports, sent after commit outside any
    transaction by whichever worker claims it (a short lease), marked sent only once the
    SMTP server accepted it. A message whose body holds a secret (a key code) stores no
    body: ``renderer`` names a registered function that renders it at send time from the
    ids in ``context``. ``hook`` names a registered function told when the message was
    accepted (or an attempt failed), in the same transaction as the status change.
    """

    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    audience = models.CharField(_("audience"), max_length=16, default="customer")
    recipients = models.JSONField(_("recipients"), default=list, blank=True)
    subject = models.CharField(_("subject"), max_length=500, blank=True)
    body_text = models.TextField(_("text body"), blank=True)
    body_html = models.TextField(_("HTML body"), blank=True)
    headers = models.JSONField(_("headers"), default=dict, blank=True)
    renderer = models.CharField(_("renderer"), max_length=100, blank=True)
    context = models.JSONField(_("render context (ids)"), default=dict, blank=True)
    hook = models.CharField(_("hook"), max_length=100, blank=True)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=OutboundEmailStatus.choices,
        default=OutboundEmailStatus.PENDING,
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    lease_until = models.DateTimeField(_("leased until"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("outbound email")
        verbose_name_plural = _("outbound emails")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbound_due_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="outbound_sent_has_sent_at",
            ),
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(lease_until__isnull=False),
                name="outbound_sending_has_lease",
            ),
            models.CheckConstraint(
                condition=~Q(renderer="") | ~Q(subject=""),
                name="outbound_rendered_or_stored",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.idempotency_key} ({self.status})"


class StaffAlert(models.Model):
    """One thing staff must know (low stock, a stale hold, a new claim...).

    Alerts of one kind raised within the digest window share one :class:`OutboundEmail`
    (a digest), so a burst of alerts is one message, not a flooded inbox.
    """

    kind = models.CharField(_("kind"), max_length=40)
    dedupe_key = models.CharField(_("dedupe key"), max_length=200, null=True, blank=True)
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("body"), blank=True)
    digest = models.ForeignKey(OutboundEmail, on_delete=models.PROTECT, related_name="staff_alerts")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("staff alert")
        verbose_name_plural = _("staff alerts")
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], name="staffalert_dedupe_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}"
