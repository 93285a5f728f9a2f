"""Catalog content in every language (django-modeltranslation).

Each field listed here gets one column per language in ``settings.LANGUAGES``
(``name_en``, ``name_fr``, ``name_ar``...). ``product.name`` reads the active language's
column and falls back to English when that one is empty, so templates, emails and the
admin keep using the plain attribute. The API answers in English (``api.views``).

Region stays one untranslated value: it is a code filters and staff match on (``EU``,
``KSA``); ``Product.region_label`` names the well-known ones in the customer's language.
"""

from modeltranslation.translator import TranslationOptions, register

from .models import Category, Product


@register(Category)
class CategoryTranslationOptions(TranslationOptions):
    fields = ("name", "description")


@register(Product)
class ProductTranslationOptions(TranslationOptions):
    fields = (
        "name",
        "edition",
        "description",
        "system_requirements",
        "compatibility_notes",
        "activation_instructions",
    )
