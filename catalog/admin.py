from typing import ClassVar

from django import forms
from django.contrib import admin
from django.db import transaction
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin

from .images import (
    ProductImageRejected,
    picture_for,
    product_image_clean,
    product_image_file,
    product_image_file_names,
    product_image_files_delete,
    product_image_thumbnails_schedule,
)
from .models import Category, Product, ProductImage


@admin.register(Category)
class CategoryAdmin(TranslationAdmin):
    """Name and description per language (English is the fallback); see translation.py."""

    list_display = ("name", "slug", "position")
    prepopulated_fields = {"slug": ("name",)}
    search_fields = ("name",)


class ProductImageForm(forms.ModelForm):
    """An uploaded image is checked by content and stored re-encoded (catalog.images)."""

    class Meta:
        model = ProductImage
        fields = ("file", "alt_text", "position")

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if not hasattr(upload, "content_type"):  # unchanged: the stored file
            return upload
        if self.instance.pk:  # a replaced image: its old files go once the save commits
            self.replaced_names = product_image_file_names(image=self.instance)
        try:
            self.clean_image = product_image_clean(upload=upload)
        except ProductImageRejected as exc:
            raise forms.ValidationError(str(exc), code="invalid_image")
        return product_image_file(image=self.clean_image)

    def save(self, commit=True):
        clean = getattr(self, "clean_image", None)
        if clean is not None:
            self.instance.width, self.instance.height = clean.width, clean.height
            self.instance.thumbnails = {}
        return super().save(commit=commit)


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    form = ProductImageForm
    extra = 1
    fields = ("preview", "file", "alt_text", "position", "width", "height")
    readonly_fields = ("preview", "width", "height")

    @admin.display(description=_("preview"))
    def preview(self, obj):
        if not obj or not obj.pk or not obj.file:
            return "–"
        picture = picture_for(image=obj, product=obj.product)
        return format_html(
            '<img src="{}" alt="" width="120" height="{}" loading="lazy">',
            picture.src,
            round(120 * picture.height / picture.width) if picture.width else 90,
        )


@admin.register(Product)
class ProductAdmin(TranslationAdmin):
    """Customer-facing texts per language (``name [en]``, ``name [fr]``...): an empty
    translation shows the English text. Plain (not tabbed) fields: the tabbed variant
    loads jQuery UI from a CDN, which the shop's CSP and no-CDN rule forbid. The stock
    columns and filter are added by ``web.admin`` (stock is the keys' business)."""

    inlines = [ProductImageInline]
    # Typed as the admin option, not as these exact tuples: web.admin extends both.
    list_display: tuple[str, ...] = ("name", "sku", "category", "platform", "kind", "price",
                                     "currency", "low_stock_threshold", "is_active")  # fmt: skip
    list_filter: ClassVar[tuple[str | type[admin.ListFilter], ...]] = (
        "is_active",
        "kind",
        "platform",
        "category",
    )
    search_fields = ("name", "sku", "edition")
    prepopulated_fields = {"slug": ("name",)}
    list_select_related = ("category",)

    def save_formset(self, request, form, formset, change):
        """New or replaced images get their thumbnails once the save commits; the files
        of removed images are deleted then."""
        gone = [name for obj in formset.deleted_forms for name in self._names(obj.instance)]
        super().save_formset(request, form, formset, change)
        for inline_form in formset.forms:
            if getattr(inline_form, "clean_image", None) and inline_form.instance.pk:
                gone += getattr(inline_form, "replaced_names", [])
                product_image_thumbnails_schedule(image_id=inline_form.instance.pk)
        if gone:
            transaction.on_commit(lambda: product_image_files_delete(names=gone))

    @staticmethod
    def _names(image) -> list[str]:
        return product_image_file_names(image=image) if isinstance(image, ProductImage) else []
