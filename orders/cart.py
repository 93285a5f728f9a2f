"""The cart: it lives in the session as {product_id: quantity}; read with prices from the
database (``cart_get``), changed by ``cart_add``/``cart_update``/``cart_remove``, which
refuse more than the keys in stock. Checkout turns it into an order (``orders.views``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _

from catalog.models import Product
from catalog.selectors import StockStatus, stock_status_for
from keys.selectors import key_available_counts

# The session key of the cart's id: set when the first product is added, dropped when the
# cart becomes an order (orders.views.checkout). See orders.cart.cart_ref_get.
CART_ID_SESSION_KEY = "cart_id"


@dataclass(frozen=True)
class CartLine:
    product: Product
    quantity: int
    unit_price: Decimal
    line_total: Decimal
    stock: StockStatus


@dataclass(frozen=True)
class Cart:
    lines: list[CartLine]
    total: Decimal
    currency: str
    # Names this cart with these contents ("" when the caller gave no cart id): checkout
    # keeps at most one open order per reference (a database constraint on orders).
    ref: str = ""

    @property
    def is_empty(self) -> bool:
        return not self.lines

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)


def cart_ref_get(*, cart_id: str, lines: list[CartLine]) -> str:
    """The reference of a cart: its id in the session and what it holds."""
    if not cart_id:
        return ""
    content = ",".join(f"{line.product.pk}x{line.quantity}" for line in lines)
    return hashlib.sha256(f"{cart_id}|{content}".encode()).hexdigest()[:40]


def cart_get(*, session_cart: dict[str, int], cart_id: str = "") -> Cart:
    """Build the cart from the session with prices read from the database, never the client."""
    ids = [int(pk) for pk in session_cart if str(pk).isdigit()]
    products = {p.pk: p for p in Product.objects.filter(pk__in=ids, is_active=True)}
    counts = key_available_counts(product_ids=list(products))
    lines = []
    for pk_text, quantity in session_cart.items():
        product = products.get(int(pk_text)) if str(pk_text).isdigit() else None
        if product is None:
            continue
        quantity = max(1, min(int(quantity), product.max_per_order))
        lines.append(
            CartLine(
                product=product,
                quantity=quantity,
                unit_price=product.price,
                line_total=product.price * quantity,
                stock=stock_status_for(product=product, available=counts.get(product.pk, 0)),
            )
        )
    lines.sort(key=lambda line: line.product.name)
    total = sum((line.line_total for line in lines), Decimal("0.00"))
    currency = lines[0].product.currency if lines else settings.SHOP_CURRENCY
    return Cart(
        lines=lines,
        total=total,
        currency=currency,
        ref=cart_ref_get(cart_id=cart_id, lines=lines),
    )


class CartError(ValueError):
    """A cart change that cannot be made; the message is shown to the customer."""


def _max_quantity(product: Product) -> int:
    return min(product.max_per_order, settings.CART_MAX_QUANTITY_PER_LINE)


def _stock_check(*, product: Product, quantity: int) -> None:
    """Refuse more than the keys in stock: the shop sells no backorders (a key missing at
    payment, when two customers race for the last one, is still refunded by its deadline)."""
    available = key_available_counts(product_ids=[product.pk]).get(product.pk, 0)
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
