"""The key inventory. Codes are stored only as ciphertext (see keys/crypto.py).

Status changes go through ``keys.services.key_transition`` (allowed moves:
:data:`KEY_MACHINE`); nothing here has business logic. The database backs the invariants: a fingerprint exists once, an available key
belongs to no order line, a reserved or delivered key belongs to exactly one, a key is
replaced at most once, and a key is first viewed at most once.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.audit import AuditEvent
from core.statemachine import StateMachine

from .crypto import FINGERPRINT_LENGTH, code_mask


class KeyStatus(models.TextChoices):
    AVAILABLE = "available", _("Available")
    RESERVED = "reserved", _("Reserved (fraud check)")
    DELIVERED = "delivered", _("Delivered")
    REVOKED = "revoked", _("Revoked")
    DEFECTIVE = "defective", _("Defective")


_S = KeyStatus
# A reserved key goes back to stock only if it was never disclosed (checked by the service).
KEY_MACHINE = StateMachine(
    name="key",
    moves={
        _S.AVAILABLE: frozenset({_S.RESERVED, _S.DELIVERED, _S.DEFECTIVE}),
        _S.RESERVED: frozenset({_S.DELIVERED, _S.AVAILABLE, _S.REVOKED, _S.DEFECTIVE}),
        _S.DELIVERED: frozenset({_S.REVOKED, _S.DEFECTIVE}),
        _S.REVOKED: frozenset(),
        _S.DEFECTIVE: frozenset(),
    },
)


class ViewChannel(models.TextChoices):
    SCREEN = "screen", _("Order confirmation page")
    EMAIL = "email", _("Delivery email")
    ACCOUNT = "account", _("My Account")
    TRACKING = "tracking", _("Order tracking page")
    STAFF = "staff", _("Staff (admin)")
    API = "api", _("Merchant API")


# Channels through which the customer sees a code on our pages: the first of these sets
# Key.first_viewed_at. Email is a disclosure (audited, and the key never returns to stock)
# but not a view: an email can sit unread.
CUSTOMER_VIEW_CHANNELS = frozenset({ViewChannel.SCREEN, ViewChannel.ACCOUNT, ViewChannel.TRACKING})


class Supplier(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    # Supplier quality: a batch whose confirmed-defect rate reaches this share of its sold
    # keys is quarantined automatically (keys.services.batch_defect_check).
    defect_quarantine_percent = models.DecimalField(
        _("quarantine a batch at a defect rate of (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        default=Decimal("10.00"),
        help_text=_(
            "Confirmed-defective keys as a share of the batch's sold keys. "
            "Empty: never quarantine automatically."
        ),
    )
    defect_min_sample = models.PositiveIntegerField(
        _("minimum sold keys before the rate counts"),
        default=20,
        help_text=_(
            # xgettext:no-python-format
            "So that one bad key out of one sold is not a 100% defect rate."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("supplier")
        verbose_name_plural = _("suppliers")
        constraints = [
            models.CheckConstraint(
                condition=Q(defect_quarantine_percent__isnull=True)
                | (Q(defect_quarantine_percent__gt=0) & Q(defect_quarantine_percent__lte=100)),
                name="supplier_defect_percent_in_range",
            ),
            models.CheckConstraint(
                condition=Q(defect_min_sample__gte=1), name="supplier_defect_min_sample_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class KeyBatch(models.Model):
    """One delivery of keys from a supplier. Quarantine withdraws its unsold keys from sale."""

    supplier = models.ForeignKey(
        Supplier, on_delete=models.PROTECT, related_name="batches", verbose_name=_("supplier")
    )
    product = models.ForeignKey(
        "storefront.Product",
        on_delete=models.PROTECT,
        related_name="key_batches",
        verbose_name=_("product"),
    )
    reference = models.CharField(
        _("supplier reference"), max_length=120, blank=True, help_text=_("Invoice or order number.")
    )
    cost_per_key = models.DecimalField(_("cost per key"), max_digits=10, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    expires_on = models.DateField(
        _("printed expiry"),
        null=True,
        blank=True,
        help_text=_("Gift codes: the expiry printed on the code. Never sold on or after it."),
    )
    is_quarantined = models.BooleanField(_("quarantined"), default=False)
    quarantine_reason = models.CharField(_("quarantine reason"), max_length=500, blank=True)
    quarantined_at = models.DateTimeField(_("quarantined at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("key batch")
        verbose_name_plural = _("key batches")
        permissions = [
            ("quarantine_batch", _("Can quarantine a batch or lift its quarantine")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(cost_per_key__gte=0), name="keybatch_cost_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(is_quarantined=False) | Q(quarantined_at__isnull=False),
                name="keybatch_quarantine_has_time",
            ),
        ]
        # the admin's batch list, newest first
        indexes = [models.Index(fields=["-received_at", "-id"], name="keybatch_received_desc_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.product} · {self.supplier} · {self.received_at:%Y-%m-%d}"


class KeyBatchEvent(AuditEvent):
    """Quarantine and release of a batch: who, when, why (``data``: the figures behind an
    automatic quarantine)."""

    class Kind(models.TextChoices):
        QUARANTINED = "quarantined", _("Quarantined")
        RELEASED = "released", _("Quarantine lifted")

    batch = models.ForeignKey(KeyBatch, on_delete=models.PROTECT, related_name="events")
    # Stored in the column "action" (this table's name for it before the audit base): the
    # attribute is renamed, the column is not, so no row moves and old readers still work.
    kind = models.CharField(_("kind"), max_length=40, choices=Kind.choices, db_column="action")

    class Meta(AuditEvent.Meta):
        verbose_name = _("batch event")
        verbose_name_plural = _("batch events")

    def __str__(self) -> str:
        return f"batch #{self.batch_id}: {self.kind}"


class KeyImport(models.Model):
    """One import run (admin upload or command), kept even when it was rejected."""

    class Outcome(models.TextChoices):
        IMPORTED = "imported", _("Imported")
        REJECTED = "rejected", _("Rejected: nothing imported")

    product = models.ForeignKey("storefront.Product", on_delete=models.PROTECT, related_name="+")
    batch = models.ForeignKey(
        KeyBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="imports"
    )
    source_name = models.CharField(_("source"), max_length=255)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    lines_read = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    bad_lines = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("key import")
        verbose_name_plural = _("key imports")

    def __str__(self) -> str:
        return f"{self.source_name} ({self.get_outcome_display()})"


class Key(models.Model):
    product = models.ForeignKey(
        "storefront.Product",
        on_delete=models.PROTECT,
        related_name="keys",
        verbose_name=_("product"),
    )
    batch = models.ForeignKey(
        KeyBatch, on_delete=models.PROTECT, related_name="keys", verbose_name=_("batch")
    )
    status = models.CharField(
        _("status"), max_length=16, choices=KeyStatus.choices, default=KeyStatus.AVAILABLE
    )
    # A Fernet token; the plaintext exists nowhere in the database.
    ciphertext = models.TextField(editable=False)
    fingerprint = models.CharField(max_length=FINGERPRINT_LENGTH, editable=False)
    last4 = models.CharField(_("last 4"), max_length=4, editable=False)
    order_line = models.ForeignKey(
        "orders.OrderLine",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="keys",
        verbose_name=_("order line"),
    )
    replaces = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replacement",
        verbose_name=_("replaces"),
    )
    import_run = models.ForeignKey(
        KeyImport, null=True, blank=True, on_delete=models.SET_NULL, related_name="keys"
    )
    import_line = models.PositiveIntegerField(_("line in the import file"), null=True, blank=True)
    first_viewed_at = models.DateTimeField(_("first viewed by the customer"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    status_changed_at = models.DateTimeField(_("status changed"), default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("key")
        verbose_name_plural = _("keys")
        permissions = [
            ("reveal_key_code", _("Can reveal a key code (audited)")),
            ("import_keys", _("Can import keys")),
        ]
        constraints = [
            # Stronger than unique per product: a code is in the inventory once, whatever
            # product it was filed under (implies UniqueConstraint(product, fingerprint)).
            models.UniqueConstraint(fields=["fingerprint"], name="key_fingerprint_unique"),
            models.CheckConstraint(
                condition=Q(status__in=KeyStatus.values), name="key_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=KeyStatus.AVAILABLE) | Q(order_line__isnull=True),
                name="key_available_has_no_order_line",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[KeyStatus.RESERVED, KeyStatus.DELIVERED])
                | Q(order_line__isnull=False),
                name="key_sold_has_order_line",
            ),
            models.CheckConstraint(
                condition=~Q(status=KeyStatus.DELIVERED) | Q(delivered_at__isnull=False),
                name="key_delivered_has_time",
            ),
            models.CheckConstraint(
                condition=Q(replaces__isnull=True) | Q(order_line__isnull=False),
                name="key_replacement_has_order_line",
            ),
        ]
        indexes = [
            # Allocation and stock counts read only available keys of one product.
            models.Index(
                fields=["product", "batch", "id"],
                condition=Q(status="available"),
                name="key_available_idx",
            ),
            # batch stock and sales counts (batch_list_with_stats) read only this index
            models.Index(
                fields=["batch", "status"], include=["order_line"], name="key_batch_status_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {code_mask(self.last4)}"

    def __repr__(self) -> str:
        return f"<Key #{self.pk} {self.status} {code_mask(self.last4)}>"

    @property
    def masked(self) -> str:
        return code_mask(self.last4)


class KeyEvent(AuditEvent):
    """One row per status change: who, when, from, to, why, related order or claim."""

    class Kind(models.TextChoices):
        RESERVED = "reserved", _("Reserved")
        DELIVERED = "delivered", _("Delivered")
        RELEASED = "released", _("Back in stock")
        REVOKED = "revoked", _("Revoked")
        DEFECTIVE = "defective", _("Marked defective")

    key = models.ForeignKey(Key, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("kind"), max_length=40, choices=Kind.choices)
    from_status = models.CharField(_("from"), max_length=32, choices=KeyStatus.choices)
    to_status = models.CharField(_("to"), max_length=32, choices=KeyStatus.choices)
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="key_events"
    )
    reference = models.CharField(
        _("reference"), max_length=64, blank=True, help_text=_("Related claim or dispute.")
    )

    class Meta(AuditEvent.Meta):
        verbose_name = _("key event")
        verbose_name_plural = _("key events")

    def __str__(self) -> str:
        return f"key #{self.key_id}: {self.from_status} -> {self.to_status}"

    @classmethod
    def kind_for(cls, *, to_status: str) -> KeyEvent.Kind:
        """The kind of a move, named by where it goes."""
        return _KEY_EVENT_KIND_BY_STATUS[to_status]


_KEY_EVENT_KIND_BY_STATUS: dict[str, KeyEvent.Kind] = {
    KeyStatus.RESERVED: KeyEvent.Kind.RESERVED,
    KeyStatus.DELIVERED: KeyEvent.Kind.DELIVERED,
    KeyStatus.AVAILABLE: KeyEvent.Kind.RELEASED,
    KeyStatus.REVOKED: KeyEvent.Kind.REVOKED,
    KeyStatus.DEFECTIVE: KeyEvent.Kind.DEFECTIVE,
}


class KeyView(models.Model):
    """One row each time a code is decrypted for someone: the reveal audit."""

    key = models.ForeignKey(Key, on_delete=models.PROTECT, related_name="views")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    guest_email = models.EmailField(blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    channel = models.CharField(max_length=16, choices=ViewChannel.choices)
    first_view = models.BooleanField(
        default=False, help_text=_("The customer's first view of this code.")
    )
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("key view")
        verbose_name_plural = _("key views")
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=Q(first_view=True), name="keyview_one_first_view"
            ),
        ]

    def __str__(self) -> str:
        return f"key #{self.key_id} viewed via {self.channel}"


class ProductStockAlert(models.Model):
    """Low-stock alert state per product: staff are emailed once per crossing below."""

    product = models.OneToOneField(
        "storefront.Product", on_delete=models.CASCADE, related_name="stock_alert"
    )
    below = models.BooleanField(default=False)
    alerted_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    rearmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("stock alert")
        verbose_name_plural = _("stock alerts")

    def __str__(self) -> str:
        return f"stock alert for product #{self.product_id}"
