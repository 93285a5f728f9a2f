"""``{% product_picture product role="card" index=0 %}``: a product's first image as a
responsive ``<img>`` (WebP thumbnails in ``srcset``, intrinsic size set, lazy below the
first row), or its platform's placeholder."""

from __future__ import annotations

from django import template

from catalog.images import Picture, product_pictures

register = template.Library()

# How wide the picture is drawn, for the browser to pick from srcset (catalog.css).
SIZES = {
    "card": "(min-width: 75rem) 17rem, (min-width: 48rem) 30vw, (min-width: 30rem) 45vw, 92vw",
    "hero": "(min-width: 60rem) 34rem, 92vw",
    "thumb": "5rem",
}
# Cards drawn before the fold on a wide screen (the first row): loaded at once.
EAGER_CARDS = 4


@register.inclusion_tag("storefront/_picture.html")
def product_picture(product, role: str = "card", index: int = 0, picture: Picture | None = None):
    picture = picture or product_pictures(product=product)[0]
    hero = role == "hero" and index == 0
    return {
        "picture": picture,
        "sizes": SIZES.get(role, SIZES["card"]),
        "eager": hero or (role == "card" and index < EAGER_CARDS),
        "high_priority": hero,
        "role": role,
    }


@register.simple_tag
def pictures_of(product) -> list[Picture]:
    return product_pictures(product=product)
