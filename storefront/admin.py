from django.contrib import admin
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin

from .models import Category, Product


@admin.register(Category)
class CategoryAdmin(TranslationAdmin):
    """Name and description per language (English is the fallback); see translation.py."""

    list_display = ("name", "slug", "position")
    prepopulated_fields = {"slug": ("name",)}
    search_fields = ("name",)


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


@admin.register(Product)
class ProductAdmin(TranslationAdmin):
    """Customer-facing texts per language (``name [en]``, ``name [fr]``...): an empty
    translation shows the English text. Plain (not tabbed) fields: the tabbed variant
    loads jQuery UI from a CDN, which the shop's CSP and no-CDN rule forbid."""

    list_display = ("name", "sku", "category", "platform", "kind", "price", "currency",
                    "stock_count", "reserved_count", "cover_days_display", "low_stock_threshold",
                    "is_active")  # fmt: skip
    list_filter = (StockFilter, "is_active", "kind", "platform", "category")
    search_fields = ("name", "sku", "edition")
    prepopulated_fields = {"slug": ("name",)}
    list_select_related = ("category",)

    def get_queryset(self, request):
        from .dashboard import product_stock_annotate

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
        from .dashboard import stock_cover_days

        cover = stock_cover_days(stock=obj.stock, sold_recent=obj.sold_recent)
        return "–" if cover is None else f"{cover:.1f}"
