"""Coupons: codes, campaign batches of single-use codes, and their redemptions.

A redemption is reserved in the transaction that creates the order (the coupon row is
locked and reserved + redeemed redemptions counted), redeemed when the order is paid and
released when the payment fails, the checkout expires or the order is cancelled before
payment. ``CouponRedemption.order_id`` names the order without a foreign key: pricing sits
below orders and never imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from catalog.models import Category, Product


class CouponKind(models.TextChoices):
    PERCENT = "percent", _("Percentage off")
    FIXED = "fixed", _("Fixed amount off")


class CouponBatch(models.Model):
    """A campaign's set of single-use codes, generated together (admin action)."""

    name = models.CharField(_("campaign"), max_length=120)
    prefix = models.CharField(_("code prefix"), max_length=20, blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=CouponKind.choices)
    value = models.DecimalField(
        _("value"), max_digits=10, decimal_places=2, validators=[MinValueValidator(0)]
    )
    currency = models.CharField(_("currency (fixed amounts)"), max_length=3, blank=True)
    count = models.PositiveIntegerField(_("number of codes"), default=100)
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    minimum_amount = models.DecimalField(
        _("minimum order amount"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    generated_at = models.DateTimeField(_("codes generated at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("coupon batch")
        verbose_name_plural = _("coupon batches")
        permissions = [
            ("generate_coupon_codes", _("Can generate a batch's single-use codes")),
            ("export_coupon_codes", _("Can export a batch's codes as CSV")),
        ]

    def __str__(self) -> str:
        return self.name


class Coupon(models.Model):
    code = models.CharField(_("code"), max_length=64)
    kind = models.CharField(_("kind"), max_length=8, choices=CouponKind.choices)
    value = models.DecimalField(
        _("value"),
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(0)],
        help_text=_("Percent (e.g. 10 for 10%) or an amount in the currency below."),
    )
    currency = models.CharField(
        _("currency (fixed amounts)"), max_length=3, blank=True, help_text=_("e.g. EUR")
    )
    products: models.ManyToManyField[Product, Any] = models.ManyToManyField(
        "storefront.Product", blank=True, related_name="+", verbose_name=_("products")
    )
    categories: models.ManyToManyField[Category, Any] = models.ManyToManyField(
        "storefront.Category", blank=True, related_name="+", verbose_name=_("categories")
    )
    minimum_amount = models.DecimalField(
        _("minimum order amount"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Of the cart, VAT included, before the discount. Empty: none."),
    )
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(
        _("uses in total"), null=True, blank=True, help_text=_("Empty: unlimited.")
    )
    max_redemptions_per_customer = models.PositiveIntegerField(
        _("uses per customer"),
        null=True,
        blank=True,
        help_text=_("Counted by billing email. Empty: unlimited."),
    )
    active = models.BooleanField(_("active"), default=True)
    batch = models.ForeignKey(
        CouponBatch,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="coupons",
        verbose_name=_("batch"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        constraints = [
            models.UniqueConstraint(Upper("code"), name="coupon_code_unique_ci"),
            models.CheckConstraint(
                condition=~Q(kind="percent") | Q(value__lte=100), name="coupon_percent_at_most_100"
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="coupon_value_not_negative"),
            models.CheckConstraint(
                condition=~Q(kind="fixed") | ~Q(currency=""), name="coupon_fixed_has_currency"
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs) -> None:
        self.code = (self.code or "").strip().upper()
        self.currency = (self.currency or "").strip().upper()
        super().save(*args, **kwargs)

    @property
    def single_use(self) -> bool:
        return self.max_redemptions == 1


class RedemptionStatus(models.TextChoices):
    RESERVED = "reserved", _("Reserved (awaiting payment)")
    REDEEMED = "redeemed", _("Redeemed")
    RELEASED = "released", _("Released")


# The statuses that use up a coupon.
COUNTED_STATUSES = (RedemptionStatus.RESERVED, RedemptionStatus.REDEEMED)


class CouponRedemption(models.Model):
    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions")
    order_id = models.UUIDField(_("order id"), db_index=True)
    order_number = models.CharField(_("order number"), max_length=16, blank=True)
    email = models.EmailField(_("billing email"))
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=RedemptionStatus.choices,
        default=RedemptionStatus.RESERVED,
        db_index=True,
    )
    single_use = models.BooleanField(default=False, editable=False)
    discount_total = models.DecimalField(_("discount"), max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("coupon redemption")
        verbose_name_plural = _("coupon redemptions")
        indexes = [models.Index(Upper("email"), "coupon", name="redemption_email_coupon_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["coupon", "order_id"], name="redemption_once_per_order"
            ),
            # a single-use code is held by at most one live redemption
            models.UniqueConstraint(
                fields=["coupon"],
                condition=Q(single_use=True, status__in=["reserved", "redeemed"]),
                name="redemption_single_use_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.coupon_id} {self.order_number} {self.status}"
