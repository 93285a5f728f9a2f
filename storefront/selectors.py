"""Catalog reads. Every page runs a fixed number of queries whatever the catalog size."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from .models import Category, Platform, Product


@dataclass(frozen=True)
class StockStatus:
    available: int
    in_stock: bool
    low: bool
    label: str


def stock_status_for(*, product: Product, available: int) -> StockStatus:
    if available <= 0:
        label = _("Out of stock")
    elif available <= product.low_stock_threshold:
        label = _("Only a few left")
    else:
        label = _("In stock")
    return StockStatus(
        available=available,
        in_stock=available > 0,
        low=0 < available <= product.low_stock_threshold,
        label=str(label),
    )


def product_available_counts(*, product_ids: list[int]) -> dict[int, int]:
    """Available keys per product, in one query (read from the key inventory)."""
    from keys.selectors import key_available_counts

    return key_available_counts(product_ids=product_ids)


def product_list(
    *, category_slug: str | None = None, platform: str | None = None, query: str | None = None
) -> QuerySet[Product]:
    qs = Product.objects.filter(is_active=True).select_related("category")
    if category_slug:
        qs = qs.filter(category__slug=category_slug)
    if platform and platform in Platform.values:
        qs = qs.filter(platform=platform)
    if query:
        for term in query.split()[:8]:
            qs = qs.filter(
                Q(name__icontains=term)
                | Q(edition__icontains=term)
                | Q(description__icontains=term)
                | Q(sku__iexact=term)
            )
    return qs.order_by("category__position", "category__name", "name")


def product_list_with_stock(*, products: list[Product]) -> list[tuple[Product, StockStatus]]:
    counts = product_available_counts(product_ids=[p.pk for p in products])
    return [(p, stock_status_for(product=p, available=counts.get(p.pk, 0))) for p in products]


def product_get_active(*, slug: str) -> Product:
    return Product.objects.select_related("category").get(slug=slug, is_active=True)


def category_list() -> QuerySet[Category]:
    return Category.objects.all()


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
    counts = product_available_counts(product_ids=list(products))
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


@dataclass(frozen=True)
class ContactInfo:
    email: str
    phone: str
    hours: str
    working_days: list[str]
    opens: str
    closes: str
    time_zone: str


def contact_info_get() -> ContactInfo:
    """How to reach the shop (from its identity, never from a policy preset, whose
    contact details belong to the company that wrote it) and the business hours that
    claim deadlines count (the active preset's calendar)."""
    from django.utils.dates import WEEKDAYS

    from core.identity import shop_identity_get
    from policies.selectors import preset_active_get

    identity = shop_identity_get()
    rules = preset_active_get()
    if rules is None:
        return ContactInfo(
            email=identity.support_email,
            phone=identity.support_phone,
            hours=identity.support_hours,
            working_days=[],
            opens="",
            closes="",
            time_zone="",
        )
    calendar = rules.calendar
    return ContactInfo(
        email=identity.support_email,
        phone=identity.support_phone,
        hours=identity.support_hours,
        working_days=[str(WEEKDAYS[day]) for day in working_week_ordered(calendar.working_days)],
        opens=calendar.opens.strftime("%H:%M"),
        closes=calendar.closes.strftime("%H:%M") if calendar.closes else "24:00",
        time_zone=calendar.time_zone,
    )


def working_week_ordered(days) -> list[int]:
    """Working days in the store's own week order: starting after its days off, so a
    Sunday-to-Thursday store reads Sunday first (0 = Monday, as datetime.weekday())."""
    days = sorted(set(days))
    if not days or len(days) == 7:
        return days
    start = next(d for d in days if (d - 1) % 7 not in days)
    return sorted(days, key=lambda d: (d - start) % 7)
