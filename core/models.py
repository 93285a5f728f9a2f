"""Models of the foundation layer (see the package docstring)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .brand import brand_color_problem

SHOP_IDENTITY_PK = 1

country_code_validator = RegexValidator(
    r"^[A-Z]{2}$", _("Enter a two-letter ISO 3166 country code in capitals, e.g. FR.")
)
invoice_prefix_validator = RegexValidator(
    r"^[A-Z0-9][A-Z0-9-]{0,15}$",
    _("Use up to 16 capital letters, digits and hyphens, e.g. INV-."),
)


class ShopIdentity(models.Model):
    """Who the shop is: one row, edited by the owner, shown to customers and on invoices.

    Support email, phone and hours on every page and email come from here, never from a
    policy preset (the presets were written by other companies).
    """

    id = models.PositiveSmallIntegerField(
        primary_key=True, default=SHOP_IDENTITY_PK, editable=False
    )
    name = models.CharField(_("shop name"), max_length=120, blank=True)
    legal_name = models.CharField(
        _("legal entity name"),
        max_length=200,
        blank=True,
        help_text=_("The company that sells, as registered (shown on invoices)."),
    )
    address_line1 = models.CharField(_("address line 1"), max_length=200, blank=True)
    address_line2 = models.CharField(_("address line 2"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(
        _("country"),
        max_length=2,
        blank=True,
        validators=[country_code_validator],
        help_text=_("ISO 3166 two-letter code, e.g. FR, DE, SA."),
    )
    support_email = models.EmailField(_("support email"), blank=True)
    support_phone = models.CharField(_("support phone"), max_length=40, blank=True)
    support_hours = models.CharField(
        _("support hours"),
        max_length=200,
        blank=True,
        help_text=_("As customers should read it, e.g. Monday to Friday, 9:00 to 17:00 CET."),
    )
    vat_number = models.CharField(_("VAT / tax number"), max_length=40, blank=True)
    company_number = models.CharField(_("company registration number"), max_length=40, blank=True)
    invoice_prefix = models.CharField(
        _("invoice series prefix"),
        max_length=16,
        default="INV-",
        validators=[invoice_prefix_validator],
    )
    # How the shop charges VAT (the pricing app reads it; the rates come from its data file).
    tax_regime = models.CharField(
        _("tax regime"),
        max_length=16,
        choices=[
            ("none", _("None (not registered for VAT)")),
            ("eu_oss", _("EU VAT with One-Stop-Shop (customer's country rate)")),
            ("national", _("Single national rate of the shop's country (e.g. Saudi Arabia)")),
        ],
        default="none",
        help_text=_(
            "Prices are entered VAT-inclusive. EU OSS needs an EU country above; "
            "the national rate is the one of the shop's country."
        ),
    )
    brand_color = models.CharField(
        _("brand colour"),
        max_length=7,
        blank=True,
        help_text=_(
            "Buttons, links and badges, e.g. #0b5cad. It must reach 4.5:1 contrast with "
            "white (WCAG AA). Blank: the default blue."
        ),
    )
    accent_color = models.CharField(
        _("accent colour"),
        max_length=7,
        blank=True,
        help_text=_("A second colour for highlights, with the same contrast rule. Blank: teal."),
    )
    logo = models.FileField(
        _("logo"),
        upload_to="brand/",
        max_length=200,
        blank=True,
        help_text=_(
            "A PNG or SVG (at most 512 KB), shown beside the shop name. Blank: the Keystore mark."
        ),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("shop identity")
        verbose_name_plural = _("shop identity")
        constraints = [
            models.CheckConstraint(
                condition=Q(id=SHOP_IDENTITY_PK), name="core_shop_identity_single_row"
            )
        ]

    def __str__(self) -> str:
        return self.name or str(_("Shop identity (not set)"))

    def clean(self) -> None:
        """Refuse brand colours customers could not read (WCAG AA with white), saying why."""
        errors = {}
        for name in ("brand_color", "accent_color"):
            value = getattr(self, name)
            if value and (problem := brand_color_problem(value)):
                errors[name] = problem
        if errors:
            raise ValidationError(errors)


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
