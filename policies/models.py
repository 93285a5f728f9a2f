"""Policy presets (rules as data), published policy documents and acceptance records."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .rules import PresetError, PresetRules, rules_parse


class PolicyPreset(models.Model):
    """One store's rules. Exactly one preset at most is active: the shop runs under it."""

    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=120)
    rules = models.JSONField(
        _("rules"), help_text=_("Preset parameters; validated against the preset schema.")
    )
    is_active = models.BooleanField(_("active"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("policy preset")
        verbose_name_plural = _("policy presets")
        permissions = [("activate_preset", _("Can switch the shop's active policy"))]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=Q(is_active=True),
                name="policies_at_most_one_active_preset",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})" + (" · active" if self.is_active else "")

    def clean(self) -> None:
        try:
            parsed = rules_parse(self.rules)
        except PresetError as exc:
            raise ValidationError({"rules": str(exc)}) from None
        if parsed.slug != self.slug:
            raise ValidationError({"rules": _("rules.slug must equal the preset slug.")})

    def rules_get(self) -> PresetRules:
        return rules_parse(self.rules)


class DocumentKind(models.TextChoices):
    REFUND = "refund", _("Refund and returns")
    DELIVERY = "delivery", _("Delivery")
    WARRANTY = "warranty", _("Warranty")
    TERMS = "terms", _("Terms of sale")
    PRIVACY = "privacy", _("Privacy")


class DocumentLanguage(models.TextChoices):
    EN = "en", "English"
    FR = "fr", "Français"
    AR = "ar", "العربية"


class PolicyDocument(models.Model):
    """One published version of one policy page in one language.

    ``body`` is ``{"intro": str, "clauses": [{"id", "title", "body"}]}``; clause ids are
    stable across versions and languages, and pages anchor them as ``#clause-<id>``.
    """

    preset = models.ForeignKey(
        PolicyPreset, on_delete=models.CASCADE, related_name="documents", verbose_name=_("preset")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=DocumentKind.choices)
    language = models.CharField(_("language"), max_length=5, choices=DocumentLanguage.choices)
    version = models.PositiveIntegerField(_("version"))
    effective_at = models.DateTimeField(_("effective from"))
    title = models.CharField(_("title"), max_length=200)
    body = models.JSONField(_("body"))
    change_note = models.CharField(_("what changed"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["preset", "kind", "language", "-version"]
        verbose_name = _("policy document")
        verbose_name_plural = _("policy documents")
        constraints = [
            models.UniqueConstraint(
                fields=["preset", "kind", "language", "version"],
                name="policies_document_version_unique",
            )
        ]
        indexes = [models.Index(fields=["preset", "kind", "language", "effective_at"])]

    def __str__(self) -> str:
        return f"{self.preset.slug} {self.kind} [{self.language}] v{self.version}"

    @property
    def clauses(self) -> list[dict]:
        return list(self.body.get("clauses", []))

    @property
    def clause_ids(self) -> list[str]:
        return [c["id"] for c in self.clauses]


class ConsentKind(models.TextChoices):
    POLICY_ACCEPTANCE = "policy_acceptance", _("Accepted the policy")
    IMMEDIATE_DELIVERY = "immediate_delivery_consent", _("Asked for immediate delivery")
    WITHDRAWAL_WAIVER = "withdrawal_waiver", _("Waived the right of withdrawal")


class PolicyAcceptance(models.Model):
    """What a customer was shown and agreed to at checkout, kept as evidence.

    ``order_ref`` is the order's public number (orders may also point here by FK); the
    document FK pins the exact version and language shown; ``wording_version`` pins the
    checkbox text. One row per (order, document, consent kind): recording twice is a no-op.
    """

    order_ref = models.CharField(_("order reference"), max_length=64, db_index=True)
    document = models.ForeignKey(
        PolicyDocument,
        on_delete=models.PROTECT,
        related_name="acceptances",
        verbose_name=_("document"),
    )
    consent_kind = models.CharField(_("consent"), max_length=40, choices=ConsentKind.choices)
    wording_version = models.CharField(_("wording version"), max_length=20)
    wording = models.TextField(_("wording shown"))
    accepted_at = models.DateTimeField(_("accepted at"))
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=400, blank=True)

    class Meta:
        ordering = ["-accepted_at"]
        verbose_name = _("policy acceptance")
        verbose_name_plural = _("policy acceptances")
        constraints = [
            models.UniqueConstraint(
                fields=["order_ref", "document", "consent_kind"],
                name="policies_acceptance_once_per_order",
            )
        ]

    def __str__(self) -> str:
        return f"{self.order_ref}: {self.consent_kind} ({self.document})"
