from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Category, Platform


class CatalogFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    category = forms.ModelChoiceField(
        label=_("Category"),
        queryset=Category.objects.all(),
        required=False,
        to_field_name="slug",
        empty_label=_("All categories"),
    )
    platform = forms.ChoiceField(
        label=_("Platform"),
        required=False,
        choices=[("", _("All platforms")), *Platform.choices],
    )


class CartAddForm(forms.Form):
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=100, initial=1)


class CartUpdateForm(forms.Form):
    quantity = forms.IntegerField(label=_("Quantity"), min_value=0, max_value=100)
