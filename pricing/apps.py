from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PricingConfig(AppConfig):
    """Tax as data (rates, the shop's regime, the tax computation) and coupons.

    Sits below ``orders``: it never imports orders; orders calls into it at checkout."""

    name = "pricing"
    verbose_name = _("Pricing, taxes and coupons")

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the deploy check)
