"""Rendered fragments of the storefront: the catalog's filter form and product cards,
and the product page.

Each card is rendered once per process for what it shows (core.fragments): the product's
shown fields, its first picture, its stock state (in stock, a few left, out of stock:
read from the keys by the same request), whether it is drawn before the fold, and the
language. Only the cards not held are rendered, all in one template pass.
"""

from __future__ import annotations

from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe

from catalog.forms import CatalogFilterForm
from catalog.images import Picture, product_pictures
from catalog.models import Product
from catalog.selectors import CatalogFacets, StockStatus
from catalog.templatetags.product_images import EAGER_CARDS
from core.fragments import fragment_get, fragment_key, fragment_set

from .selectors import PurchasePromise

_SEPARATOR = "\x00product-card\x00"


def product_card_key(
    *, product: Product, stock: StockStatus, picture: Picture, index: int
) -> tuple:
    """Everything ``storefront/_product_cards.html`` shows of one card (the active
    language, script prefix and URLconf are added by ``fragment_key``)."""
    return fragment_key(
        "product-card",
        product.pk,
        product.slug,
        product.name,
        product.platform,
        product.edition,
        product.region,
        product.price,
        product.currency,
        picture,
        stock.in_stock,
        stock.low,
        stock.label,
        index < EAGER_CARDS,
    )


def product_cards_render(*, items: list[tuple[Product, StockStatus]]) -> list[SafeString]:
    """The cards of ``items`` (product and stock state, in page order) as HTML: those
    held as they are, the others rendered in one pass and kept."""
    pictures = [product_pictures(product=product)[0] for product, _stock in items]
    keys = [
        product_card_key(product=product, stock=stock, picture=picture, index=index)
        for index, ((product, stock), picture) in enumerate(zip(items, pictures, strict=True))
    ]
    cards = [fragment_get(key) for key in keys]
    missing = [index for index, card in enumerate(cards) if card is None]
    if missing:
        text = get_template("storefront/_product_cards.html").render(
            {
                "items": [(*items[i], pictures[i], i) for i in missing],
                "separator": mark_safe(_SEPARATOR),
            }
        )
        rendered = text.split(_SEPARATOR)[: len(missing)]
        for index, card in zip(missing, rendered, strict=True):
            cards[index] = mark_safe(card)
            fragment_set(keys[index], cards[index], size=len(card))
    return [mark_safe(card) for card in cards]


def product_page_key(
    *,
    product: Product,
    pictures: list[Picture],
    stock: StockStatus,
    quantity_max: int,
    promise: PurchasePromise,
    tax_label: str,
) -> tuple:
    """Everything the product page's content (``{% fragment "product-page" %}`` in
    ``storefront/product_detail.html``) shows: every column of the product (each
    language's name and texts), its category's name, its pictures, its stock state (the
    count itself only where it is shown: "Only 2 left"), the quantity allowed, the
    policy's promise and the tax label."""
    return (
        tuple(getattr(product, field.attname) for field in product._meta.concrete_fields),
        (product.category.pk, product.category.slug, product.category.name),
        tuple(pictures),
        (stock.in_stock, stock.low, stock.available if stock.low else None),
        quantity_max,
        (
            promise.delivery,
            promise.delivery_detail,
            tuple(promise.policy_lines),
            promise.policy_url,
            promise.delivery_url,
        ),
        tax_label,
    )


CATALOG_FILTER_FIELDS = ("q", "sort", "category", "platform", "region", "in_stock")


def catalog_filters_key(
    *, form: CatalogFilterForm, facets: CatalogFacets, searching: bool
) -> tuple:
    """Everything the catalog's filter form (``{% fragment "catalog-filters" %}`` in
    ``storefront/catalog.html``) shows: the values offered with their counts, the values
    chosen (as sent), the errors beside the fields, and whether a search is on (which
    offers "Best match")."""
    return (
        tuple(facets.categories),
        tuple(facets.platforms),
        tuple(facets.regions),
        tuple(form.data.get(name, "") for name in CATALOG_FILTER_FIELDS),
        tuple(
            (name, tuple(str(error) for error in errors)) for name, errors in form.errors.items()
        ),
        searching,
    )
