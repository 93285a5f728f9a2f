from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    """Pages composed from several apps: the storefront pages, the cart, My Account, the
    staff dashboard, the sitemap and the demo seeding. The top floor: it imports any app
    below it, none imports it."""

    name = "web"
    label = "web"
    verbose_name = _("Pages")
