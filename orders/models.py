"""Orders: what a customer bought, its status pipeline and its payment events.

The orders app owns these models; status changes go through `orders.services.order_transition`,
which moves through ``ORDER_MACHINE`` and writes an OrderEvent row.
"""

import secrets
import uuid
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Round, Upper
from django.utils.translation import gettext_lazy as _

from core.audit import AuditEvent
from core.money import currency_precision
from core.statemachine import StateMachine
from pricing.choices import TaxRegime, TaxTreatment


def order_number_new() -> str:
    """A short, unguessable, human-readable order number, e.g. KS-7F3K9Q2M."""
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return "KS-" + "".join(secrets.choice(alphabet) for _ in range(8))


class OrderStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting payment")
    PAID = "paid", _("Paid")
    ON_HOLD = "on_hold", _("Security check in progress")
    BACKORDERED = "backordered", _("Waiting for stock")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")
    DISPUTED = "disputed", _("Disputed")
    FAILED = "failed", _("Payment failed")
    EXPIRED = "expired", _("Checkout expired")


# Orders that can still be paid by the customer (the payment page accepts them).
OPEN_ORDER_STATES = (OrderStatus.PENDING, OrderStatus.FAILED)

_S = OrderStatus
# The allowed moves of an order's status (orders.services.order_transition moves through it).
ORDER_MACHINE = StateMachine(
    name="order",
    moves={
        _S.PENDING: frozenset({_S.PAID, _S.FAILED, _S.EXPIRED, _S.CANCELLED}),
        # Money can arrive after a failed attempt or an expiry event (out-of-order webhooks):
        # the order is then paid and must be delivered or refunded.
        _S.FAILED: frozenset({_S.PAID, _S.EXPIRED, _S.CANCELLED}),
        _S.EXPIRED: frozenset({_S.PAID}),
        _S.PAID: frozenset({_S.ON_HOLD, _S.DELIVERED, _S.BACKORDERED, _S.CANCELLED, _S.DISPUTED}),
        _S.ON_HOLD: frozenset({_S.DELIVERED, _S.BACKORDERED, _S.CANCELLED, _S.DISPUTED}),
        _S.BACKORDERED: frozenset({_S.DELIVERED, _S.CANCELLED, _S.DISPUTED}),
        _S.DELIVERED: frozenset({_S.PARTIALLY_REFUNDED, _S.REFUNDED, _S.DISPUTED}),
        _S.PARTIALLY_REFUNDED: frozenset({_S.REFUNDED, _S.DISPUTED}),
        _S.DISPUTED: frozenset({_S.DELIVERED, _S.PARTIALLY_REFUNDED, _S.REFUNDED, _S.CANCELLED}),
        _S.REFUNDED: frozenset({_S.DISPUTED}),
        _S.CANCELLED: frozenset({_S.DISPUTED}),
    },
)


class Order(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(
        _("order number"), max_length=16, unique=True, default=order_number_new, editable=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    email = models.EmailField(_("billing email"))
    billing_name = models.CharField(_("billing name"), max_length=200)
    language = models.CharField(_("language"), max_length=8, default="en")
    status = models.CharField(
        _("status"),
        max_length=24,
        choices=OrderStatus.choices,
        default=OrderStatus.PENDING,
        db_index=True,
    )
    currency = models.CharField(_("currency"), max_length=3)
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2)
    purchase_ip = models.GenericIPAddressField(_("purchase IP"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=400, blank=True)
    policy_preset = models.CharField(_("policy preset"), max_length=40, blank=True)
    gateway = models.CharField(_("payment gateway"), max_length=16, default="test")
    gateway_session_id = models.CharField(max_length=255, blank=True, db_index=True)
    gateway_payment_id = models.CharField(max_length=255, blank=True, db_index=True)
    # The cart this order was made from (orders.cart.cart_ref_get), "" when none.
    cart_ref = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    refunded_total = models.DecimalField(_("refunded"), max_digits=12, decimal_places=2, default=0)
    # --- billing and tax (pricing): what the customer declared and how the sale was taxed.
    billing_country = models.CharField(
        _("billing country"), max_length=2, blank=True, help_text=_("ISO 3166 alpha-2 code.")
    )
    billing_company = models.CharField(_("company name"), max_length=200, blank=True)
    billing_vat_number = models.CharField(
        _("VAT number"),
        max_length=32,
        blank=True,
        help_text=_("Compact, with its country prefix (e.g. FR40303265045)."),
    )
    tax_regime = models.CharField(
        _("tax regime"), max_length=16, choices=TaxRegime.choices, default=TaxRegime.NONE
    )
    tax_treatment = models.CharField(
        _("tax treatment"), max_length=16, choices=TaxTreatment.choices, default=TaxTreatment.NONE
    )
    card_country = models.CharField(
        _("card country"),
        max_length=2,
        blank=True,
        help_text=_("As the payment gateway reported it."),
    )
    location_conflict = models.BooleanField(
        _("location conflict"),
        default=False,
        help_text=_("The card's country differs from the billing country."),
    )
    # Amounts: subtotal is the gross (VAT incl.) before discount; total (above) is what the
    # customer is charged = subtotal - discount_total = net_total + tax_total.
    subtotal = models.DecimalField(_("subtotal"), max_digits=12, decimal_places=2, default=0)
    discount_total = models.DecimalField(_("discount"), max_digits=12, decimal_places=2, default=0)
    net_total = models.DecimalField(_("net total"), max_digits=12, decimal_places=2, default=0)
    tax_total = models.DecimalField(_("tax total"), max_digits=12, decimal_places=2, default=0)
    coupon_code = models.CharField(_("coupon code"), max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        permissions = [
            ("release_hold", _("Can release a security hold (delivers the keys)")),
            ("refund_order", _("Can cancel and refund an order")),
            ("resend_key_email", _("Can email an order's keys again")),
        ]
        indexes = [
            # the admin's order list: newest first (Django adds -pk to make it total)
            models.Index(fields=["-created_at", "-id"], name="order_created_desc_idx"),
            models.Index(fields=["email", "-created_at"]),
            # fraud checks: recent paid orders, and a customer's orders whatever the case
            models.Index(fields=["paid_at"], name="order_paid_at_idx"),
            models.Index(Upper("email"), "paid_at", name="order_email_upper_paid_idx"),
            models.Index(fields=["purchase_ip", "paid_at"], name="order_ip_paid_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
            models.CheckConstraint(
                # Round(): SQLite adds decimals as floats (24.92 + 4.98 = 29.900000000000002);
                # rounding to the stored precision makes the check exact on both databases.
                condition=Q(total=Round(models.F("net_total") + models.F("tax_total"), 2))
                & Q(subtotal=Round(models.F("total") + models.F("discount_total"), 2))
                & Q(discount_total__gte=0, net_total__gte=0, tax_total__gte=0),
                name="order_totals_add_up",
            ),
            models.CheckConstraint(
                condition=Q(refunded_total__gte=0) & Q(refunded_total__lte=models.F("total")),
                name="order_refunded_within_total",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "failed", "expired", "cancelled"])
                | Q(paid_at__isnull=False),
                name="order_paid_states_have_paid_at",
            ),
            models.CheckConstraint(
                condition=~Q(status="delivered") | Q(delivered_at__isnull=False),
                name="order_delivered_has_delivered_at",
            ),
            models.UniqueConstraint(
                fields=["gateway", "gateway_session_id"],
                condition=~Q(gateway_session_id=""),
                name="order_gateway_session_unique",
            ),
            # One cart makes at most one order that can still be paid.
            models.UniqueConstraint(
                fields=["cart_ref"],
                condition=Q(status__in=OPEN_ORDER_STATES) & ~Q(cart_ref=""),
                name="order_one_open_order_per_cart",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    # save() below only adds defaults to a new order: an update of named fields may be
    # written without it (core.prepared.row_update)
    plain_save_for = frozenset({"update"})

    def save(self, *args, **kwargs) -> None:
        # An order written without a tax breakdown (an import, a hand-made row) is untaxed
        # and undiscounted: net = total, subtotal = total. Checkout always sets them.
        if self._state.adding:
            _untaxed_defaults_fill(self)
        super().save(*args, **kwargs)


def _untaxed_defaults_fill(order: "Order") -> None:
    total = order.total or 0
    if not order.net_total and not order.tax_total and total:
        order.net_total = total
    if not order.subtotal and total:
        order.subtotal = total + (order.discount_total or 0)


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        "storefront.Product", on_delete=models.PROTECT, related_name="order_lines"
    )
    product_name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    # unit_price is the list price incl. VAT; line_total is what was paid for the line
    # (gross, after discount) = net_amount + tax_amount.
    line_total = models.DecimalField(max_digits=12, decimal_places=2)
    discount_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    net_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    tax_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    tax_rate = models.DecimalField(
        max_digits=5, decimal_places=2, default=0, help_text="Percent, e.g. 20.00."
    )
    exchange_reference = models.CharField(
        max_length=40,
        blank=True,
        help_text="The claim this line was added for, when a key was exchanged for it.",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="orderline_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(line_total=Round(models.F("net_amount") + models.F("tax_amount"), 2))
                & Q(discount_amount__gte=0, net_amount__gte=0, tax_amount__gte=0, tax_rate__gte=0),
                name="orderline_amounts_add_up",
            ),
            models.UniqueConstraint(
                fields=["order", "exchange_reference"],
                condition=~Q(exchange_reference=""),
                name="orderline_one_exchange_line_per_claim",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_name}"

    def save(self, *args, **kwargs) -> None:
        # A line written without a tax breakdown is untaxed: net = line_total.
        if self._state.adding and not self.net_amount and not self.tax_amount:
            self.net_amount = self.line_total or 0
        super().save(*args, **kwargs)

    @property
    def unit_paid(self):
        """What the customer paid for one unit of this line, after discount, rounded down in
        the currency's precision (so refunding every unit never gives back more than the line
        cost). The per-key amount for claims and exchanges."""
        exponent = Decimal(1).scaleb(-currency_precision(currency=self.order.currency))
        return (self.line_total / self.quantity).quantize(exponent, rounding=ROUND_DOWN)


class OrderEventKind(models.TextChoices):
    STATUS = "status", _("Status change")
    NOTE = "note", _("Note")
    PAYMENT = "payment", _("Payment")
    AMOUNT_MISMATCH = "amount_mismatch", _("Amount mismatch")
    FRAUD = "fraud", _("Fraud check")
    HOLD_RELEASED = "hold_released", _("Hold released")
    EMAIL = "email", _("Email")
    REFUND = "refund", _("Refund")
    CONSENT = "consent", _("Consent")
    LOCATION = "location_conflict", _("Location conflict")
    EXCHANGE_LINE = "exchange_line", _("Exchange line added")
    INVOICE = "invoice", _("Invoice issued")
    CREDIT_NOTE = "credit_note", _("Credit note issued")


class OrderEvent(AuditEvent):
    """One row per status change or notable step: who, when, from, to, why, and its facts
    (amounts, ids) in ``data``."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(
        _("kind"), max_length=40, choices=OrderEventKind.choices, default=OrderEventKind.STATUS
    )

    class Meta(AuditEvent.Meta):
        verbose_name = _("order event")
        verbose_name_plural = _("order events")

    def __str__(self) -> str:
        return f"{self.order_id} {self.from_status}->{self.to_status}"


# --- extensions owned by the checkout / payment / delivery flow -------------------------


class OrderRisk(models.Model):
    """Payment risk facts for one order, as the gateway reported them (one row per order)."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="risk")
    risk_level = models.CharField(_("risk level"), max_length=16, blank=True)
    card_fingerprint = models.CharField(
        _("card fingerprint"), max_length=128, blank=True, db_index=True
    )
    checked_at = models.DateTimeField(_("fraud check run at"), null=True, blank=True)
    hold_reasons = models.JSONField(_("hold reasons"), default=list, blank=True)
    held_at = models.DateTimeField(_("held at"), null=True, blank=True)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stale_alerted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("order risk")
        verbose_name_plural = _("order risks")

    def __str__(self) -> str:
        return f"{self.order_id} {self.risk_level or '-'}"


class OrderConsent(models.Model):
    """What the customer ticked at checkout, with the exact wording version, IP and time."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="consents")
    kind = models.CharField(_("kind"), max_length=40)
    clause = models.CharField(_("policy clause"), max_length=120, blank=True)
    wording_version = models.CharField(_("wording version"), max_length=40)
    text = models.TextField(_("wording shown"))
    legal_basis = models.CharField(_("legal basis"), max_length=200, blank=True)
    ip = models.GenericIPAddressField(_("IP"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=400, blank=True)
    accepted_at = models.DateTimeField(_("accepted at"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("checkout consent")
        verbose_name_plural = _("checkout consents")
        constraints = [
            models.UniqueConstraint(fields=["order", "kind"], name="orderconsent_once_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.wording_version}"


class BackorderInfo(models.Model):
    """When an order ran out of stock after payment, and what was done about it."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="backorder")
    since = models.DateTimeField()
    deadline = models.DateTimeField()
    shortfall = models.JSONField(default=dict, blank=True)
    staff_alerted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.order_id} until {self.deadline:%Y-%m-%d %H:%M}"


class WebhookEventStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSED = "processed", _("Processed")
    IGNORED = "ignored", _("Ignored")
    DEFERRED = "deferred", _("Deferred (waiting for an earlier event)")
    REJECTED = "rejected", _("Rejected (does not match the order)")
    FAILED = "failed", _("Failed (will be retried)")


class WebhookEvent(models.Model):
    """One row per gateway event id, stored once, with its processing status."""

    gateway = models.CharField(max_length=16, default="stripe")
    event_id = models.CharField(_("event id"), max_length=255, unique=True)
    type = models.CharField(_("type"), max_length=100, db_index=True)
    payload = models.JSONField()
    status = models.CharField(
        max_length=16,
        choices=WebhookEventStatus.choices,
        default=WebhookEventStatus.RECEIVED,
        db_index=True,
    )
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="webhook_events"
    )
    created_at_gateway = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        permissions = [("replay_webhook", _("Can process a stored webhook event again"))]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", _("Canceled")


class Refund(models.Model):
    """Money sent back through the order's gateway; one row per (order, reason, reference)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    reason = models.CharField(_("reason"), max_length=64)
    reference = models.CharField(_("reference"), max_length=64, blank=True)
    status = models.CharField(
        max_length=16, choices=RefundStatus.choices, default=RefundStatus.PENDING, db_index=True
    )
    idempotency_key = models.CharField(max_length=200, unique=True)
    gateway = models.CharField(max_length=16)
    gateway_refund_id = models.CharField(max_length=255, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    revoke_keys = models.BooleanField(default=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.UniqueConstraint(
                fields=["order", "reason", "reference"], name="refund_once_per_reason_reference"
            ),
            models.UniqueConstraint(
                fields=["gateway", "gateway_refund_id"],
                condition=~Q(gateway_refund_id=""),
                name="refund_gateway_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.amount} {self.currency} {self.status}"


class OrderEmailKind(models.TextChoices):
    DELIVERY = "delivery", _("Keys delivered")
    RESEND = "resend", _("Keys re-sent")
    HOLD = "hold", _("Security check")
    BACKORDER = "backorder", _("Waiting for stock")
    CANCELLED = "cancelled", _("Cancelled and refunded")


class OrderEmailStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed, retrying")


class OrderEmail(models.Model):
    """One customer email about an order; sent at most once per (order, kind) except resends."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=16, choices=OrderEmailKind.choices)
    status = models.CharField(
        max_length=16,
        choices=OrderEmailStatus.choices,
        default=OrderEmailStatus.PENDING,
        db_index=True,
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("order email")
        verbose_name_plural = _("order emails")
        constraints = [
            models.UniqueConstraint(
                fields=["order", "kind"],
                condition=~Q(kind="resend"),
                name="orderemail_once_per_kind",
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="orderemail_sent_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind} {self.status}"


class FraudSettings(models.Model):
    """The fraud rules staff tune in the admin. One row (id=1)."""

    enabled = models.BooleanField(_("fraud checks enabled"), default=True)
    hold_on_elevated_risk = models.BooleanField(_("hold on elevated risk"), default=True)
    hold_on_highest_risk = models.BooleanField(_("hold on highest risk"), default=True)
    first_order_amount_threshold = models.DecimalField(
        _("first order amount threshold"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        default=200,
        help_text=_("Hold a customer's first order above this total. Empty: no limit."),
    )
    velocity_window_minutes = models.PositiveIntegerField(
        _("velocity window (minutes)"), default=60
    )
    velocity_max_per_email = models.PositiveIntegerField(
        _("max paid orders per email in the window"), default=5
    )
    velocity_max_per_ip = models.PositiveIntegerField(
        _("max paid orders per IP in the window"), default=10
    )
    velocity_max_per_card = models.PositiveIntegerField(
        _("max paid orders per card in the window"), default=5
    )
    stale_hold_minutes = models.PositiveIntegerField(
        _("alert staff about holds older than (minutes)"), default=120
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("fraud settings")
        verbose_name_plural = _("fraud settings")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="fraudsettings_singleton")]

    def __str__(self) -> str:
        return str(_("Fraud settings"))


class BlocklistKind(models.TextChoices):
    EMAIL = "email", _("Email address")
    EMAIL_DOMAIN = "email_domain", _("Email domain")
    IP = "ip", _("IP address")
    CARD = "card", _("Card fingerprint")


class BlocklistEntry(models.Model):
    """A value whose orders are always held for a security check."""

    kind = models.CharField(_("kind"), max_length=16, choices=BlocklistKind.choices)
    value = models.CharField(_("value"), max_length=254)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "value"]
        verbose_name = _("blocklist entry")
        verbose_name_plural = _("blocklist")
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="blocklist_unique_value"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.value}"
