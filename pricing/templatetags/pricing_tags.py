"""Template helpers for prices as customers read them.

``{% price_tax_label %}``: "incl. VAT" when the shop charges VAT (product pages, cart; the
theme can put it next to any catalogue price). ``{{ treatment|tax_label }}``: the label for
a sale already taxed (order pages, emails). ``{{ order|order_vat_rate }}``: the rate of an
order's lines. ``{% cart_quote cart request as quote %}``: the cart's prices with the code
the customer entered.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from pricing.services import (
    COUPON_SESSION_KEY,
    cart_quote,
    catalogue_price_tax_label,
    price_tax_label,
)

register = template.Library()


@register.simple_tag(name="price_tax_label")
def price_tax_label_tag() -> str:
    return catalogue_price_tax_label()


@register.filter
def tax_label(treatment: str) -> str:
    return price_tax_label(treatment=treatment or "")


@register.filter
def order_vat_rate(order: Any) -> Decimal:
    rates = [line.tax_rate for line in order.lines.all()]
    return max(rates, default=Decimal("0"))


@register.simple_tag(name="cart_quote")
def cart_quote_tag(cart: Any, request: Any):
    session = getattr(request, "session", None) or {}
    return cart_quote(cart=cart, coupon_code=session.get(COUPON_SESSION_KEY, "") or "")
