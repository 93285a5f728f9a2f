"""Orders: what a customer bought, its status pipeline and its payment events.

The orders app owns these models; status changes go through `orders.services.order_transition`,
which checks the allowed move and writes an OrderEvent row.
"""

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


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


class Order(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(_("order number"), max_length=16, unique=True,
                              default=order_number_new, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="orders")
    email = models.EmailField(_("billing email"))
    billing_name = models.CharField(_("billing name"), max_length=200)
    language = models.CharField(_("language"), max_length=8, default="en")
    status = models.CharField(_("status"), max_length=24, choices=OrderStatus.choices,
                              default=OrderStatus.PENDING, db_index=True)
    currency = models.CharField(_("currency"), max_length=3)
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2)
    purchase_ip = models.GenericIPAddressField(_("purchase IP"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=400, blank=True)
    policy_preset = models.CharField(_("policy preset"), max_length=40, blank=True)
    gateway = models.CharField(_("payment gateway"), max_length=16, default="test")
    gateway_session_id = models.CharField(max_length=255, blank=True, db_index=True)
    gateway_payment_id = models.CharField(max_length=255, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [models.Index(fields=["email", "-created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
        ]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("storefront.Product", on_delete=models.PROTECT,
                                related_name="order_lines")
    product_name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    line_total = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orderline_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_name}"


class OrderEvent(models.Model):
    """One row per status change or notable step: who, when, from, to, why."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    from_status = models.CharField(max_length=24, blank=True)
    to_status = models.CharField(max_length=24, blank=True)
    kind = models.CharField(max_length=40, default="status")
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.from_status}->{self.to_status}"
