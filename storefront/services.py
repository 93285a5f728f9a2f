"""Cart writes. The cart lives in the session as {product_id: quantity}."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from .models import Product

# The session key of the cart's id: set when the first product is added, dropped when the
# cart becomes an order (orders.views.checkout). See storefront.selectors.cart_ref_get.
CART_ID_SESSION_KEY = "cart_id"


class CartError(ValueError):
    """A cart change that cannot be made; the message is shown to the customer."""


def _max_quantity(product: Product) -> int:
    return min(product.max_per_order, settings.CART_MAX_QUANTITY_PER_LINE)


def _stock_check(*, product: Product, quantity: int) -> None:
    """Refuse more than the keys in stock: the shop sells no backorders (a key missing at
    payment, when two customers race for the last one, is still refunded by its deadline)."""
    from .selectors import product_available_counts

    available = product_available_counts(product_ids=[product.pk]).get(product.pk, 0)
    if available <= 0:
        raise CartError(_("%(product)s is out of stock.") % {"product": product.name})
    if quantity > available:
        raise CartError(
            _("Only %(count)d of %(product)s left in stock.")
            % {"count": available, "product": product.name}
        )


def cart_add(*, session_cart: dict[str, int], product: Product, quantity: int) -> dict[str, int]:
    if not product.is_active:
        raise CartError(_("This product is no longer on sale."))
    if quantity < 1:
        raise CartError(_("Choose a quantity of at least 1."))
    cart = dict(session_cart)
    key = str(product.pk)
    if key not in cart and len(cart) >= settings.CART_MAX_LINES:
        raise CartError(_("Your cart is full. Check out or remove an item first."))
    existing_currencies = set(
        Product.objects.filter(pk__in=[int(k) for k in cart if k != key]).values_list(
            "currency", flat=True
        )
    )
    if existing_currencies and existing_currencies != {product.currency}:
        raise CartError(_("Items priced in different currencies must be bought separately."))
    new_quantity = cart.get(key, 0) + quantity
    limit = _max_quantity(product)
    if new_quantity > limit:
        raise CartError(
            _("You can buy at most %(limit)d of this product per order.") % {"limit": limit}
        )
    _stock_check(product=product, quantity=new_quantity)
    cart[key] = new_quantity
    return cart


def cart_update(*, session_cart: dict[str, int], product: Product, quantity: int) -> dict[str, int]:
    cart = dict(session_cart)
    key = str(product.pk)
    if quantity <= 0:
        cart.pop(key, None)
        return cart
    limit = _max_quantity(product)
    if quantity > limit:
        raise CartError(
            _("You can buy at most %(limit)d of this product per order.") % {"limit": limit}
        )
    if quantity > cart.get(key, 0):
        _stock_check(product=product, quantity=quantity)
    cart[key] = quantity
    return cart


def cart_remove(*, session_cart: dict[str, int], product_id: int) -> dict[str, int]:
    cart = dict(session_cart)
    cart.pop(str(product_id), None)
    return cart
