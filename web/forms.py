"""The cart's forms (the add-to-cart form of the product page, the cart's quantities)."""

from django import forms
from django.utils.translation import gettext_lazy as _


class CartAddForm(forms.Form):
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=100, initial=1)


class CartUpdateForm(forms.Form):
    quantity = forms.IntegerField(label=_("Quantity"), min_value=0, max_value=100)
