"""The tax vocabulary shared by the shop settings, the checkout and (through orders) invoices."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TaxRegime(models.TextChoices):
    """How the shop charges tax (a setting of the shop; snapshotted on every order)."""

    NONE = "none", _("None (not registered for VAT)")
    EU_OSS = "eu_oss", _("EU VAT with One-Stop-Shop (customer's country rate)")
    NATIONAL = "national", _("Single national rate (e.g. Saudi Arabia 15%)")


class TaxTreatment(models.TextChoices):
    """How one sale was taxed, decided at checkout from the regime and the buyer."""

    NONE = "none", _("No tax (shop not registered)")
    DOMESTIC = "domestic", _("Domestic VAT (seller's country)")
    OSS = "oss", _("EU OSS (customer's country rate)")
    REVERSE_CHARGE = "reverse_charge", _("VAT reverse charged (EU business)")
    OUTSIDE_SCOPE = "outside_scope", _("No VAT (customer outside the EU)")
    NATIONAL = "national", _("National VAT")
