from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Platform
from .selectors import CatalogSort


class CatalogFilterForm(forms.Form):
    """The catalog's filters. Only values that have products on sale are offered (the
    facets); any other value is a form error shown beside its field, never ignored."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    category = forms.ChoiceField(label=_("Category"), required=False)
    platform = forms.ChoiceField(label=_("Platform"), required=False)
    region = forms.ChoiceField(label=_("Region"), required=False)
    in_stock = forms.BooleanField(label=_("In stock only"), required=False)
    sort = forms.ChoiceField(label=_("Sort by"), required=False)

    def __init__(self, *args, facets, **kwargs):
        super().__init__(*args, **kwargs)
        self.facets = facets
        # Accepted: any category or platform the shop knows (a link to one with nothing
        # on sale right now finds nothing); offered in the page: those with products.
        self._choices_set(
            "category",
            [
                ("", _("All categories")),
                *((slug, c.name) for slug, c in facets.category_records.items()),
            ],
        )
        self._choices_set("platform", [("", _("All platforms")), *Platform.choices])
        self._choices_set(
            "region", [("", _("All regions")), *((f.value, f.label) for f in facets.regions)]
        )
        self._choices_set("sort", CatalogSort.choices)

    def _choices_set(self, name: str, choices: list[tuple[str, Any]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)  # all four are declared above
        field.choices = choices

    def filters(self) -> dict:
        """The filters for ``web.selectors.product_list_for_catalog`` (``product_list``'s
        and ``in_stock``): the valid fields only (a field in error is left out, so the
        rest of the page still works)."""
        data = getattr(self, "cleaned_data", {})
        return {
            "category_slug": data.get("category") or None,
            "platform": data.get("platform") or None,
            "region": data.get("region") or None,
            "in_stock": bool(data.get("in_stock")),
            "query": data.get("q") or None,
            "sort": data.get("sort") or "",
        }

    def category_record(self):
        slug = getattr(self, "cleaned_data", {}).get("category")
        return self.facets.category_records.get(slug) if slug else None
