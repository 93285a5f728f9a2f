from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    """Pages composed from several apps: the storefront pages, the cart, My Account, the
    staff dashboard, the sitemap and the demo seeding. The top floor: it imports any app
    below it, none imports it."""

    name = "web"
    label = "web"
    verbose_name = _("Pages")

    def ready(self) -> None:
        # Imports here: the template library needs the app registry ready.
        from django.core.signals import setting_changed

        from core.fragments import fragments_clear

        from .templatetags.site_chrome import chrome_cache_clear

        # A changed setting (tests' override_settings: URLs, storages, payment gateway)
        # may change the site chrome's text: this process renders it again.
        setting_changed.connect(
            lambda **kwargs: chrome_cache_clear(), weak=False, dispatch_uid="site-chrome"
        )
        # The same for the rendered cards, rows and product pages (core.fragments).
        setting_changed.connect(
            lambda **kwargs: fragments_clear(), weak=False, dispatch_uid="page-fragments"
        )
