from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from catalog.models import Product

from .models import KeyBatch, Supplier


class KeyImportForm(forms.Form):
    """Upload a key file into an existing batch or a new one. Choices survive errors."""

    file = forms.FileField(
        label=_("Key file"),
        help_text=_("One code a line (.txt), or CSV with a 'code' column (.csv)."),
    )
    format = forms.ChoiceField(
        label=_("File format"),
        choices=[
            ("auto", _("From the file name (.csv is CSV)")),
            ("text", _("One code a line")),
            ("csv", _("CSV")),
        ],
        initial="auto",
    )
    product = forms.ModelChoiceField(label=_("Product"), queryset=Product.objects.all())
    batch = forms.ModelChoiceField(
        label=_("Existing batch"),
        queryset=KeyBatch.objects.select_related("supplier", "product").filter(
            is_quarantined=False
        ),
        required=False,
        help_text=_("Leave empty to create a new batch from the fields below."),
    )
    supplier = forms.ModelChoiceField(
        label=_("Supplier (new batch)"), queryset=Supplier.objects.all(), required=False
    )
    cost_per_key = forms.DecimalField(
        label=_("Cost per key (new batch)"),
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
    )
    currency = forms.CharField(
        label=_("Currency (new batch)"), max_length=3, min_length=3, initial="EUR", required=False
    )
    reference = forms.CharField(
        label=_("Supplier reference (new batch)"), max_length=120, required=False
    )
    expires_on = forms.DateField(
        label=_("Printed expiry (new batch, gift codes)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what Form.clean returns
        product, batch = data.get("product"), data.get("batch")
        if batch is not None:
            if product is not None and batch.product_id != product.pk:
                self.add_error("batch", _("This batch holds keys of another product."))
        else:
            if not data.get("supplier"):
                self.add_error(
                    "supplier", _("Pick an existing batch, or a supplier for a new one.")
                )
            if data.get("cost_per_key") is None:
                self.add_error("cost_per_key", _("A new batch needs its cost per key."))
            if not data.get("currency"):
                self.add_error("currency", _("A new batch needs a currency."))
        return data


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Recorded in the audit trail."),
    )
