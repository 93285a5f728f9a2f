"""``{% activation_steps_for product as steps %}``: how to activate that product's keys
(catalog.activation), for pages of other apps (the order page after payment)."""

from django import template

from catalog.activation import product_activation_steps

register = template.Library()


@register.simple_tag
def activation_steps_for(product) -> list[str]:
    return product_activation_steps(product=product) if product is not None else []
