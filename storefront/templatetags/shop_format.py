"""How customers read prices and mixed-direction text, in every language.

``{{ amount|money:currency }}`` formats a price for the active language (CLDR through
babel: ``€19.90`` in English, ``19,90 €`` in French); the text emails use it too, since
they render inside ``translation.override``. ``{{ value|bdi }}`` isolates a code, an
order number, a legal citation or a product name from the text around it, so Arabic
(right to left) never reorders its characters; it works inside ``blocktranslate`` too,
leaving the translated sentence unchanged.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template
from django.conf import settings
from django.utils.html import format_html
from django.utils.translation import get_language

from core.money import money_format

register = template.Library()


@register.filter
def money(amount, currency: str = "") -> str:
    if amount is None or amount == "":
        return ""
    try:
        Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    return money_format(
        amount=str(amount),
        currency=currency or settings.SHOP_CURRENCY,
        language=get_language() or settings.LANGUAGE_CODE,
    )


@register.filter
def bdi(value) -> str:
    if value is None or value == "":
        return ""
    return format_html("<bdi>{}</bdi>", value)
