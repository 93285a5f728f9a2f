"""The Product admin with its stock columns and filter: the catalog's own ``ProductAdmin``
(``catalog.admin``) knows nothing of keys or orders, so this floor, which reads both,
registers a subclass in its place (``web`` is installed after ``catalog``: the catalog's
admin module has registered first)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.admin import ProductAdmin as CatalogProductAdmin
from catalog.models import Product

from .dashboard import product_stock_annotate, stock_cover_days


class StockFilter(admin.SimpleListFilter):
    """Products whose sellable stock is at or below their own low-stock threshold."""

    title = _("stock")
    parameter_name = "stock"

    def lookups(self, request, model_admin):
        return [("low", _("Low (at or below threshold)")), ("out", _("Out of stock"))]

    def queryset(self, request, queryset):
        if self.value() == "low":
            return queryset.filter(stock__lte=F("low_stock_threshold"))
        if self.value() == "out":
            return queryset.filter(stock=0)
        return queryset


admin.site.unregister(Product)


@admin.register(Product)
class ProductStockAdmin(CatalogProductAdmin):
    """The catalog's Product admin, with sellable stock, reservations and days of cover."""

    list_display = ("name", "sku", "category", "platform", "kind", "price", "currency",
                    "stock_count", "reserved_count", "cover_days_display", "low_stock_threshold",
                    "is_active")  # fmt: skip
    list_filter = (StockFilter, *CatalogProductAdmin.list_filter)

    def get_queryset(self, request):
        return product_stock_annotate(
            queryset=super().get_queryset(request),
            now=timezone.now(),
            tz=timezone.get_current_timezone(),
        )

    @admin.display(description=_("stock"), ordering="stock")
    def stock_count(self, obj):
        return getattr(obj, "stock", None)

    @admin.display(description=_("reserved"), ordering="reserved")
    def reserved_count(self, obj):
        return getattr(obj, "reserved", None)

    @admin.display(description=_("days of cover"))
    def cover_days_display(self, obj):
        cover = stock_cover_days(stock=obj.stock, sold_recent=obj.sold_recent)
        return "–" if cover is None else f"{cover:.1f}"
