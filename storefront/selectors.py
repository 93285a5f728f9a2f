"""Catalog reads. Every page runs a fixed number of queries whatever the catalog size."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection, models
from django.db.models import (
    Case,
    Count,
    Exists,
    FloatField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils.translation import gettext_lazy as _

from .models import Category, Platform, Product, ProductImage

if TYPE_CHECKING:
    from django.contrib.postgres.search import SearchVector


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


class CatalogSort(models.TextChoices):
    RELEVANCE = "", _("Best match")
    PRICE_ASC = "price", _("Price: low to high")
    PRICE_DESC = "-price", _("Price: high to low")
    NAME = "name", _("Name")
    NEWEST = "newest", _("Newest")


SEARCH_TERMS_MAX = 8
_ORDERINGS = {
    CatalogSort.PRICE_ASC: ("price", "name", "pk"),
    CatalogSort.PRICE_DESC: ("-price", "name", "pk"),
    CatalogSort.NAME: ("name", "pk"),
    CatalogSort.NEWEST: ("-created_at", "-pk"),
}
_DEFAULT_ORDERING = ("category__position", "category__name", "name", "pk")


def search_terms(*, query: str) -> list[str]:
    """The words of a search (letters and digits only), at most SEARCH_TERMS_MAX."""
    return re.findall(r"\w+", query or "")[:SEARCH_TERMS_MAX]


def search_document() -> SearchVector:
    """The text PostgreSQL matches searches against; the GIN index of migration
    ``0004_product_search_index`` is built on exactly this expression, so it is used."""
    from django.contrib.postgres.search import SearchVector

    return SearchVector(*SEARCH_FIELDS, config="simple")


SEARCH_FIELDS = ("name", "edition", "platform", "sku", "description")


def _search_postgresql(qs: QuerySet[Product], terms: list[str], query: str) -> QuerySet[Product]:
    """Full-text search ranked by where the words are: the name weighs most, then the
    edition, platform and SKU, then the description. Every word must match (as a prefix,
    so "wind" finds Windows), or the exact SKU (as typed or in capitals: the SKU's own
    index). Matching uses the indexed document; only the matches are ranked."""
    from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

    weighted = (
        SearchVector("name", weight="A", config="simple")
        + SearchVector("edition", "platform", "sku", weight="B", config="simple")
        + SearchVector("description", weight="C", config="simple")
    )
    tsquery = SearchQuery(
        " & ".join(f"{term}:*" for term in terms), search_type="raw", config="simple"
    )
    return qs.annotate(
        search_document=search_document(), search_rank=SearchRank(weighted, tsquery)
    ).filter(Q(search_document=tsquery) | Q(sku__in={query.strip(), query.strip().upper()}))


def _search_simple(qs: QuerySet[Product], terms: list[str], query: str) -> QuerySet[Product]:
    """Every word somewhere in the name, edition, description or SKU; a product whose name
    holds the words comes first (rank 2 all of them, 1 the first)."""
    for term in terms:
        qs = qs.filter(
            Q(name__icontains=term)
            | Q(edition__icontains=term)
            | Q(description__icontains=term)
            | Q(sku__iexact=term)
        )
    all_in_name = Q()
    for term in terms:
        all_in_name &= Q(name__icontains=term)
    return qs.annotate(
        search_rank=Case(
            When(all_in_name, then=Value(2.0)),
            When(name__icontains=terms[0], then=Value(1.0)),
            default=Value(0.0),
            output_field=FloatField(),
        )
    )


def product_list(
    *,
    category_slug: str | None = None,
    platform: str | None = None,
    region: str | None = None,
    in_stock: bool = False,
    query: str | None = None,
    sort: str = "",
) -> QuerySet[Product]:
    """Products on sale, filtered, searched and sorted. Searching ranks by relevance
    (PostgreSQL full-text search on PostgreSQL, a simple match elsewhere) unless another
    order is asked for. Images come prefetched (one query for the page)."""
    qs = Product.objects.filter(is_active=True).select_related("category")
    if category_slug:
        qs = qs.filter(category__slug=category_slug)
    if platform and platform in Platform.values:
        qs = qs.filter(platform=platform)
    if region:
        qs = qs.filter(region=region)
    if in_stock:
        qs = qs.filter(_in_stock_q())
    terms = search_terms(query=query or "")
    if terms:
        search = _search_postgresql if connection.vendor == "postgresql" else _search_simple
        qs = search(qs, terms, query or "")
    ordering = _ORDERINGS.get(sort)
    if ordering is None:
        ordering = ("-search_rank", "name", "pk") if terms else _DEFAULT_ORDERING
    images = Prefetch("images", queryset=ProductImage.objects.order_by("position", "pk"))
    return qs.order_by(*ordering).prefetch_related(images)


def _in_stock_q() -> Exists:
    from django.utils import timezone

    from keys.models import Key
    from keys.selectors import key_sellable_q

    return Exists(
        Key.objects.filter(key_sellable_q(today=timezone.localdate()), product=OuterRef("pk"))
    )


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int


@dataclass(frozen=True)
class CatalogFacets:
    """The filter values that have products on sale, with how many each (every category
    in ``category_records``: a link to one that is empty for now is not an error)."""

    categories: list[FacetValue]
    platforms: list[FacetValue]
    regions: list[FacetValue]
    category_records: dict[str, Category]


def catalog_facets_get() -> CatalogFacets:
    """Two queries whatever the catalog size: the categories, and one GROUP BY over the
    products on sale."""
    rows = (
        Product.objects.filter(is_active=True)
        .values("category_id", "platform", "region")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_category: dict[int, int] = {}
    by_platform: dict[str, int] = {}
    by_region: dict[str, int] = {}
    for row in rows:
        by_category[row["category_id"]] = by_category.get(row["category_id"], 0) + row["n"]
        by_platform[row["platform"]] = by_platform.get(row["platform"], 0) + row["n"]
        by_region[row["region"]] = by_region.get(row["region"], 0) + row["n"]
    every_category = list(Category.objects.all())
    categories = [c for c in every_category if c.pk in by_category]
    return CatalogFacets(
        categories=[FacetValue(c.slug, c.name, by_category[c.pk]) for c in categories],
        platforms=[
            FacetValue(value, str(label), by_platform[value])
            for value, label in Platform.choices
            if value in by_platform
        ],
        regions=[FacetValue(r, r, by_region[r]) for r in sorted(by_region, key=str.casefold)],
        category_records={c.slug: c for c in every_category},
    )


def product_list_with_stock(*, products: list[Product]) -> list[tuple[Product, StockStatus]]:
    counts = product_available_counts(product_ids=[p.pk for p in products])
    return [(p, stock_status_for(product=p, available=counts.get(p.pk, 0))) for p in products]


def product_get_active(*, slug: str) -> Product:
    images = Prefetch("images", queryset=ProductImage.objects.order_by("position", "pk"))
    return (
        Product.objects.select_related("category")
        .prefetch_related(images)
        .get(slug=slug, is_active=True)
    )


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


@dataclass(frozen=True)
class PurchasePromise:
    """What the product page promises, from the active policy preset: delivery in one
    line, the policy in two, and where to read it in full."""

    delivery: str
    delivery_detail: str
    policy_lines: list[str]
    policy_url: str
    delivery_url: str


def purchase_promise_get() -> PurchasePromise:
    """Sentences written here (translated) from the preset's numbers, not the preset's
    own English wording, so every language reads its own."""
    from django.urls import reverse
    from django.utils.translation import gettext, ngettext

    from policies.selectors import preset_active_get

    rules = preset_active_get()
    policies_index = reverse("policies:index")
    if rules is None:
        return PurchasePromise(
            delivery=gettext("Delivered in seconds, by email and on screen"),
            delivery_detail="",
            policy_lines=[],
            policy_url=policies_index,
            delivery_url=policies_index,
        )
    seconds = rules.delivery.promise_seconds
    if seconds is None or seconds <= 60:
        delivery = gettext("Delivered in seconds, by email and on screen")
    else:
        minutes = -(-seconds // 60)
        delivery = ngettext(
            "Delivered within %(n)s minute, by email and on screen",
            "Delivered within %(n)s minutes, by email and on screen",
            minutes,
        ) % {"n": minutes}
    hours = rules.delivery.non_delivery_deadline_hours
    detail = gettext("Your key appears on the order page the moment your payment clears.")
    if hours:
        detail += " " + ngettext(
            "Nothing after %(n)s hour? It counts as not delivered.",
            "Nothing after %(n)s hours? It counts as not delivered.",
            hours,
        ) % {"n": hours}
    remedy = rules.remedy
    if remedy.replacement_first and (
        remedy.refund_when_replacement_fails or remedy.refund_when_out_of_stock
    ):
        first = gettext("A key that does not work is replaced, or refunded if it cannot be.")
    elif remedy.replacement_first:
        first = gettext("A key that does not work is replaced.")
    else:
        first = gettext("A key that does not work is refunded.")
    days = rules.claim_window.days
    if days is None:
        second = gettext("Report a problem at any time from your order page.")
    elif rules.claim_window.anchor == "failure":
        second = ngettext(
            "Report a problem within %(n)s day of noticing it, from your order page.",
            "Report a problem within %(n)s days of noticing it, from your order page.",
            days,
        ) % {"n": days}
    else:
        second = ngettext(
            "Report a problem within %(n)s day of purchase, from your order page.",
            "Report a problem within %(n)s days of purchase, from your order page.",
            days,
        ) % {"n": days}
    return PurchasePromise(
        delivery=delivery,
        delivery_detail=detail,
        policy_lines=[first, second],
        policy_url=reverse("policies:document", kwargs={"kind": "refund"}),
        delivery_url=reverse("policies:document", kwargs={"kind": "delivery"}),
    )


def requirements_rows(*, text: str) -> list[tuple[str, list[str]]]:
    """A requirements text as definition rows: a line "Processor: 1 GHz" is its own row;
    other items (one a line, or separated by semicolons, or by commas when the whole text
    is one line listing several) gather last, under "Requirements"."""
    lines = [part.strip() for line in text.splitlines() for part in line.split(";")]
    lines = [line for line in lines if line]
    if len(lines) == 1 and lines[0].count(",") >= 2:
        lines = [part.strip() for part in lines[0].rstrip(".").split(",") if part.strip()]
    labelled: list[tuple[str, list[str]]] = []
    loose: list[str] = []
    for line in lines:
        label, sep, value = line.partition(":")
        if sep and value.strip() and 0 < len(label) <= 40 and "/" not in label:
            labelled.append((label.strip(), [value.strip()]))
        else:
            loose.append(line)
    if loose:
        labelled.append((str(_("Requirements")), loose))
    return labelled
