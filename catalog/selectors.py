"""Catalog reads: listing, search, facets, one product. Every page runs a fixed number of
queries whatever the catalog size. Nothing here knows about key stock: what needs it (the
in-stock filter, the stock labels of a page) is composed above, in ``web.selectors`` and
``orders.cart``; ``stock_status_for`` only words a count it is given."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection, models
from django.db.models import Case, Count, FloatField, Prefetch, Q, QuerySet, Value, When
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core.versioned_cache import versioned_cache_get

from .models import Category, Platform, Product, ProductImage


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


class CatalogSort(models.TextChoices):
    RELEVANCE = "", _("Best match")
    PRICE_ASC = "price", _("Price: low to high")
    PRICE_DESC = "-price", _("Price: high to low")
    NAME = "name", _("Name")
    NEWEST = "newest", _("Newest")


SEARCH_TERMS_MAX = 8
_ORDERINGS: dict[str, tuple[str, ...]] = {
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
    return SearchVector(*SEARCH_FIELDS, config="simple")


SEARCH_FIELDS = ("name", "edition", "platform", "sku", "description")


def _search_postgresql(qs: QuerySet[Product], terms: list[str], query: str) -> QuerySet[Product]:
    """Full-text search ranked by where the words are: the name weighs most, then the
    edition, platform and SKU, then the description. Every word must match (as a prefix,
    so "wind" finds Windows), or the exact SKU (as typed or in capitals: the SKU's own
    index). Matching uses the indexed document; only the matches are ranked."""
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
    query: str | None = None,
    sort: str = "",
) -> QuerySet[Product]:
    """Products on sale, filtered, searched and sorted. Searching ranks by relevance
    (PostgreSQL full-text search on PostgreSQL, a simple match elsewhere) unless another
    order is asked for. Images come prefetched (one query for the page). The in-stock
    filter is ``web.selectors.product_list_for_catalog`` (stock is the keys' business)."""
    qs = Product.objects.filter(is_active=True).select_related("category")
    if category_slug:
        qs = qs.filter(category__slug=category_slug)
    if platform and platform in Platform.values:
        qs = qs.filter(platform=platform)
    if region:
        qs = qs.filter(region=region)
    terms = search_terms(query=query or "")
    if terms:
        search = _search_postgresql if connection.vendor == "postgresql" else _search_simple
        qs = search(qs, terms, query or "")
    ordering = _ORDERINGS.get(sort)
    if ordering is None:
        ordering = ("-search_rank", "name", "pk") if terms else _DEFAULT_ORDERING
    images = Prefetch("images", queryset=ProductImage.objects.order_by("position", "pk"))
    return qs.order_by(*ordering).prefetch_related(images)


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


# The facets' process-local copy (core.versioned_cache), one per language, dropped
# everywhere on any save or delete of a product or category (catalog.apps), and at the
# latest after CATALOG_FACETS_MAX_AGE seconds (writes that send no signal: bulk updates).
CATALOG_FACETS_CACHE = "catalog-facets"
CATALOG_FACETS_MAX_AGE = 60.0


def catalog_facets_cached() -> CatalogFacets:
    """:func:`catalog_facets_get` for the active language, read once per process until a
    product or category changes (one cache read instead of two queries)."""
    by_language: dict[str, tuple[float, CatalogFacets]] = versioned_cache_get(
        name=CATALOG_FACETS_CACHE, loader=dict
    )
    language = get_language() or ""
    held = by_language.get(language)
    now = time.monotonic()
    if held is not None and now - held[0] < CATALOG_FACETS_MAX_AGE:
        return held[1]
    facets = catalog_facets_get()
    by_language[language] = (now, facets)
    return facets


def product_get_active(*, slug: str) -> Product:
    images = Prefetch("images", queryset=ProductImage.objects.order_by("position", "pk"))
    return (
        Product.objects.select_related("category")
        .prefetch_related(images)
        .get(slug=slug, is_active=True)
    )


# The product page's products, read once per process until any product, category or
# product image changes (catalog.apps bumps it on their saves and deletes, the thumbnail
# task after writing thumbnails): the page then reads one cache token instead of the
# product and its pictures. Explicit only: no age limit.
CATALOG_PRODUCTS_CACHE = "catalog-products"
CATALOG_PRODUCTS_HELD_MAX = 2000


def product_get_active_cached(*, slug: str) -> Product:
    """:func:`product_get_active`, from this process's copy while no product, category or
    picture has changed. The instance is shared between requests: read it, never change
    it. Raises ``Product.DoesNotExist`` (not kept: a product put on sale is seen at once)."""
    by_slug: dict[str, Product] = versioned_cache_get(name=CATALOG_PRODUCTS_CACHE, loader=dict)
    product = by_slug.get(slug)
    if product is None:
        product = product_get_active(slug=slug)
        list(product.images.all())  # the prefetched pictures, kept with it
        if len(by_slug) >= CATALOG_PRODUCTS_HELD_MAX:
            by_slug.clear()
        by_slug[slug] = product
    return product


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
