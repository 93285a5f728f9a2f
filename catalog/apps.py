from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    """Products, categories and their images. The label stays "storefront" (the app's
    name before issue 11), so its tables, migrations, content types and permissions are
    the same rows: no data migration."""

    name = "catalog"
    label = "storefront"
    verbose_name = _("Catalog")

    def ready(self) -> None:
        # Imports here: models need the app registry ready.
        from django.db.models.signals import post_delete, post_save

        from core.versioned_cache import versioned_cache_bumper

        from .models import Category, Product, ProductImage
        from .selectors import CATALOG_FACETS_CACHE, CATALOG_PRODUCTS_CACHE

        # The catalog filters' process-local copy (selectors.catalog_facets_cached) is
        # dropped everywhere on any change of a product or category row. Cache
        # invalidation only: no business logic hangs on these receivers.
        receiver = versioned_cache_bumper(CATALOG_FACETS_CACHE)
        for model in (Product, Category):
            for signal, uid in ((post_save, "save"), (post_delete, "delete")):
                signal.connect(
                    receiver, sender=model, weak=False,
                    dispatch_uid=f"catalog-facets:{model.__name__}:{uid}",
                )  # fmt: skip
        # The product page's copies (selectors.product_get_active_cached): any change of
        # a product, its category or its pictures (the thumbnail task bumps by itself).
        products_receiver = versioned_cache_bumper(CATALOG_PRODUCTS_CACHE)
        for sender in (Product, Category, ProductImage):
            for signal, uid in ((post_save, "save"), (post_delete, "delete")):
                signal.connect(
                    products_receiver, sender=sender, weak=False,
                    dispatch_uid=f"catalog-products:{sender.__name__}:{uid}",
                )  # fmt: skip
