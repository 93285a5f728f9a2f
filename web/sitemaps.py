"""``/sitemap.xml``: home, categories, products and policy pages, in every language.

Each address is listed once per language (``?lang=``, see web/seo.py) with its
``hreflang`` alternates and ``x-default``, absolute on ``SITE_URL``.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from catalog.models import Category, Product
from policies.selectors import documents_current_list, preset_active_record_get

from . import seo


class ShopSitemap(Sitemap):
    i18n = True
    alternates = True

    def path_for(self, item) -> str:
        raise NotImplementedError

    def query_for(self, item) -> list[tuple[str, str]]:
        return []

    def location(self, item) -> str:
        return seo.page_url_for_language(
            path=self.path_for(item),
            language=seo.language_active(),
            query=self.query_for(item),
            absolute=False,
        )

    def get_protocol(self, protocol=None) -> str:
        return seo.sitemap_protocol_and_domain()[0]

    def get_domain(self, site=None) -> str:
        return seo.sitemap_protocol_and_domain()[1]

    def get_urls(self, page=1, site=None, protocol=None) -> list[dict]:
        urls = super().get_urls(page=page, site=site, protocol=protocol)
        for url in urls:
            default = [a for a in url["alternates"] if a["lang_code"] == settings.LANGUAGE_CODE]
            if default:
                url["alternates"].append(
                    {"location": default[0]["location"], "lang_code": "x-default"}
                )
        return urls


class HomeSitemap(ShopSitemap):
    changefreq = "daily"
    priority = 1.0

    def items(self) -> list[str]:
        return ["catalog:catalog"]

    def path_for(self, item: str) -> str:
        return reverse(item)


class CategorySitemap(ShopSitemap):
    changefreq = "daily"
    priority = 0.7

    def items(self):
        return Category.objects.filter(products__is_active=True).distinct().order_by("pk")

    def path_for(self, item: Category) -> str:
        return reverse("catalog:catalog")

    def query_for(self, item: Category) -> list[tuple[str, str]]:
        return [("category", item.slug)]


class ProductSitemap(ShopSitemap):
    changefreq = "daily"
    priority = 0.8

    def items(self):
        return Product.objects.filter(is_active=True).order_by("pk")

    def path_for(self, item: Product) -> str:
        return item.get_absolute_url()

    def lastmod(self, item: Product):
        return item.updated_at


class PolicySitemap(ShopSitemap):
    changefreq = "monthly"
    priority = 0.3

    def items(self) -> list[str]:
        preset = preset_active_record_get()
        if preset is None:
            return []
        kinds = [
            d.kind for d in documents_current_list(language=settings.LANGUAGE_CODE, preset=preset)
        ]
        return ["", *kinds]

    def path_for(self, item: str) -> str:
        if not item:
            return reverse("policies:index")
        return reverse("policies:document", kwargs={"kind": item})


SITEMAPS = {
    "home": HomeSitemap,
    "categories": CategorySitemap,
    "products": ProductSitemap,
    "policies": PolicySitemap,
}
