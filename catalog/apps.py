from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    """Products, categories and their images. The label stays "storefront" (the app's
    name before issue 11), so its tables, migrations, content types and permissions are
    the same rows: no data migration."""

    name = "catalog"
    label = "storefront"
    verbose_name = _("Catalog")
