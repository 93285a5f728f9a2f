"""Models of the foundation layer (see the package docstring)."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

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
