from django.contrib import admin

from .models import Category, Product


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "position")
    prepopulated_fields = {"slug": ("name",)}
    search_fields = ("name",)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "sku", "category", "platform", "kind", "price", "currency", "is_active")
    list_filter = ("is_active", "kind", "platform", "category")
    search_fields = ("name", "sku", "edition")
    prepopulated_fields = {"slug": ("name",)}
    list_select_related = ("category",)
