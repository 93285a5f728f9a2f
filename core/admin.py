"""The shop identity in the admin: one row, edited in place, saved through the service."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .brand import CleanLogo, logo_upload_clean
from .identity import EDITABLE_FIELDS, shop_identity_update
from .models import SHOP_IDENTITY_PK, ShopIdentity


class ShopIdentityForm(forms.ModelForm):
    class Meta:
        model = ShopIdentity
        fields = (*EDITABLE_FIELDS, "logo")
        widgets = {
            "brand_color": forms.TextInput(attrs={"placeholder": "#0b5cad", "size": 8}),
            "accent_color": forms.TextInput(attrs={"placeholder": "#0f6b5f", "size": 8}),
        }

    clean_logo_result: CleanLogo | None = None

    def clean_logo(self):
        """A new upload is checked by content; its clean copy is what gets stored."""
        logo = self.cleaned_data.get("logo")
        if isinstance(logo, UploadedFile):
            self.clean_logo_result = logo_upload_clean(upload=logo)
        return logo


@admin.register(ShopIdentity)
class ShopIdentityAdmin(admin.ModelAdmin):
    form = ShopIdentityForm
    fieldsets = (
        (None, {"fields": ("name", "legal_name")}),
        (
            _("Address"),
            {"fields": ("address_line1", "address_line2", "postcode", "city", "country")},
        ),
        (_("Customer support"), {"fields": ("support_email", "support_phone", "support_hours")}),
        (_("Invoices"), {"fields": ("vat_number", "company_number", "invoice_prefix")}),
        (_("Taxes"), {"fields": ("tax_regime",)}),
        (_("Brand"), {"fields": ("brand_color", "accent_color", "logo")}),
    )
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the single row is edited, never added

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context=None):
        """The list of one row is that row's form."""
        if not self.has_view_or_change_permission(request):
            return super().changelist_view(request, extra_context)
        ShopIdentity.objects.get_or_create(pk=SHOP_IDENTITY_PK)
        return HttpResponseRedirect(
            reverse("admin:core_shopidentity_change", args=[SHOP_IDENTITY_PK])
        )

    def save_model(self, request: HttpRequest, obj: ShopIdentity, form, change: bool) -> None:
        changes = {name: form.cleaned_data[name] for name in EDITABLE_FIELDS}
        logo = form.cleaned_data.get("logo")
        if form.clean_logo_result is not None:
            changes["logo"] = form.clean_logo_result
        elif logo is False:  # "Clear" ticked
            changes["logo"] = ""
        shop_identity_update(**changes)
