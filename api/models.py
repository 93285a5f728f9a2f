"""Merchant API: keys (hashed, scoped, revocable) and key-import jobs.

An API key acts through a dedicated service user (``ApiKey.user``): the shop's services
and audit rows (KeyEvent, KeyBatchEvent, KeyImport, ClaimEvent, the admin's LogEntry) all
take a User as actor, so every write through the API is attributed to that user, whose
name says which key it is (email ``api-key-<prefix>@api.invalid``). The user has no usable password and no staff flag: it can
never sign in anywhere; only the key authenticates as it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    CATALOG_READ = "catalog:read", _("Read products, stock and batches")
    STOCK_WRITE = "stock:write", _("Change prices, on-sale flags and quarantine batches")
    KEYS_IMPORT = "keys:import", _("Import keys")
    ORDERS_READ = "orders:read", _("Read orders and refunds")
    KEYS_REVEAL = "keys:reveal", _("Reveal delivered key codes (audited)")
    CLAIMS = "claims", _("Read claims and write messages on them")
    WEBHOOKS = "webhooks", _("Manage webhook endpoints")


class ApiKey(models.Model):
    name = models.CharField(_("name"), max_length=100)
    # The public part of the key, shown in lists and used to find the row.
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    # SHA-256 (hex) of the whole key; the key itself is shown once and never stored.
    secret_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="api_key",
        editable=False,
        help_text=_("The service user the key acts as in audit rows."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        permissions = [("revoke_apikey", _("Can revoke an API key"))]
        constraints = [
            models.CheckConstraint(condition=~Q(prefix=""), name="apikey_prefix_set"),
            models.CheckConstraint(condition=~Q(secret_hash=""), name="apikey_hash_set"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ImportJobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    IMPORTED = "imported", _("Imported")
    REJECTED = "rejected", _("Rejected: nothing imported")
    FAILED = "failed", _("Failed")


class ImportJob(models.Model):
    """A key import sent through the API. The codes wait encrypted (``payload``, a Fernet
    token under the key-encryption keys) until the task imports them, then are dropped."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="import_jobs")
    product = models.ForeignKey("storefront.Product", on_delete=models.PROTECT, related_name="+")
    batch = models.ForeignKey(
        "keys.KeyBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    supplier_name = models.CharField(max_length=200, blank=True)
    cost_per_key = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    reference = models.CharField(max_length=120, blank=True)
    source_name = models.CharField(max_length=255)
    fmt = models.CharField(max_length=8, default="auto")
    payload = models.TextField(blank=True, editable=False)
    lines_total = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=16, choices=ImportJobStatus.choices, default=ImportJobStatus.QUEUED
    )
    imported = models.PositiveIntegerField(default=0)
    bad_lines = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    key_import = models.ForeignKey(
        "keys.KeyImport", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API import job")
        verbose_name_plural = _("API import jobs")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running"]) | Q(finished_at__isnull=False),
                name="importjob_finished_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"import job #{self.pk} ({self.status})"
