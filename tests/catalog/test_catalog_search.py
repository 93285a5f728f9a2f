"""Catalog search that ranks, sorting, filters offering only values with products, and a
query count that does not grow with the catalog."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from catalog.models import Product
from catalog.selectors import product_list
from tests.factories import CategoryFactory, ProductFactory, keys_create

pytestmark = pytest.mark.django_db


def _names(body: str) -> list[str]:
    return re.findall(r'<h2 class="product-card-title"><a [^>]*>([^<]+)</a>', body)


@pytest.fixture
def no_grid_cache(settings):
    settings.CATALOG_GRID_CACHE_SECONDS = 0


def test_a_name_match_ranks_above_a_description_match(client, category, no_grid_cache):
    ProductFactory(
        category=category,
        name="Antivirus Suite",
        description="Protects Windows PCs against malware.",
        edition="",
        platform="multi",
    )
    ProductFactory(
        category=category,
        name="Windows Defender Plus",
        edition="",
        description="",
        platform="multi",
    )
    ProductFactory(
        category=category, name="Office Home", edition="", description="Word", platform="multi"
    )
    body = client.get(reverse("catalog:catalog"), {"q": "windows"}).content.decode()
    assert _names(body) == ["Windows Defender Plus", "Antivirus Suite"]


@pytest.mark.postgres
def test_postgresql_full_text_search_ranks_by_field_weight_and_matches_word_prefixes(category):
    assert connection.vendor == "postgresql"
    description = ProductFactory(
        category=category, name="Zeta Toolkit", edition="", description="Works with Office 2021."
    )
    edition = ProductFactory(category=category, name="Alpha Suite", edition="Office Edition")
    name = ProductFactory(category=category, name="Office 2021 Professional", edition="")
    found = list(product_list(query="office"))
    assert found == [name, edition, description]
    assert all(p.search_rank > 0 for p in found)
    assert found[0].search_rank > found[1].search_rank > found[2].search_rank
    assert list(product_list(query="offi profess")) == [name]  # prefixes, every word
    assert list(product_list(query=name.sku.lower())) == [name]  # an exact SKU
    assert list(product_list(query="'; drop table --")) == []  # only words reach the query


def test_sqlite_search_matches_every_word_anywhere_and_puts_names_first(category):
    in_name = ProductFactory(category=category, name="Office 2021 Professional", edition="")
    in_description = ProductFactory(
        category=category, name="Zeta", edition="", description="Needs Office 2021 installed."
    )
    ProductFactory(category=category, name="Office 2019", edition="", description="")
    assert list(product_list(query="office 2021")) == [in_name, in_description]


def test_sorting_by_price_name_and_newest(client, category, no_grid_cache):
    now = timezone.now()
    for name, price, age in (("Beta", "30.00", 2), ("Alpha", "10.00", 1), ("Gamma", "20.00", 3)):
        product = ProductFactory(category=category, name=name, price=Decimal(price))
        Product.objects.filter(pk=product.pk).update(created_at=now - timedelta(days=age))
    url = reverse("catalog:catalog")
    assert _names(client.get(url, {"sort": "price"}).content.decode()) == ["Alpha", "Gamma", "Beta"]
    assert _names(client.get(url, {"sort": "-price"}).content.decode()) == [
        "Beta",
        "Gamma",
        "Alpha",
    ]
    assert _names(client.get(url, {"sort": "name"}).content.decode()) == ["Alpha", "Beta", "Gamma"]
    assert _names(client.get(url, {"sort": "newest"}).content.decode()) == [
        "Alpha",
        "Beta",
        "Gamma",
    ]


def test_the_sort_order_is_part_of_the_cache_key(client, category):
    ProductFactory(category=category, name="Cheap", price=Decimal("5.00"))
    ProductFactory(category=category, name="Dear", price=Decimal("50.00"))
    url = reverse("catalog:catalog")
    assert _names(client.get(url, {"sort": "price"}).content.decode()) == ["Cheap", "Dear"]
    assert _names(client.get(url, {"sort": "-price"}).content.decode()) == ["Dear", "Cheap"]
    assert _names(client.get(url, {"sort": "price"}).content.decode()) == ["Cheap", "Dear"]


def test_filters_offer_only_values_with_products_on_sale_with_their_counts(client, category):
    empty = CategoryFactory(name="Empty shelf", slug="empty-shelf")
    ProductFactory(category=category, name="Win A", platform="windows", region="EU")
    ProductFactory(category=category, name="Win B", platform="windows", region="Global")
    ProductFactory(category=category, name="Steam C", platform="steam", region="EU")
    ProductFactory(category=empty, name="Retired", platform="xbox", region="US", is_active=False)
    body = client.get(reverse("catalog:catalog")).content.decode()

    def options(field):
        select = re.search(rf'<select name="{field}".*?</select>', body, re.S).group(0)
        return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select)

    assert options("platform") == [
        ("", "All platforms"),
        ("windows", "Windows (2)"),
        ("steam", "Steam (1)"),
    ]
    assert options("region") == [("", "All regions"), ("EU", "EU (2)"), ("Global", "Global (1)")]
    assert options("category") == [
        ("", "All categories"),
        ("operating-systems", "Operating systems (3)"),
    ]
    # a category the shop has but that has nothing on sale is no error: just nothing found
    response = client.get(reverse("catalog:catalog"), {"category": "empty-shelf"})
    assert 'role="alert"' not in response.content.decode()
    assert "No products match these filters." in response.content.decode()


def test_region_and_in_stock_filters(client, category, no_grid_cache):
    stocked = ProductFactory(category=category, name="Stocked EU", region="EU")
    keys_create(product=stocked, count=2)
    ProductFactory(category=category, name="Empty EU", region="EU")
    ProductFactory(category=category, name="Stocked US", region="US")
    url = reverse("catalog:catalog")
    assert _names(client.get(url, {"region": "EU"}).content.decode()) == ["Empty EU", "Stocked EU"]
    assert _names(client.get(url, {"region": "EU", "in_stock": "1"}).content.decode()) == [
        "Stocked EU"
    ]


@pytest.mark.parametrize("size", [10, 200])
def test_the_catalog_query_count_is_the_same_at_10_and_200_products(
    client, size, no_grid_cache, django_assert_max_num_queries
):
    categories = [CategoryFactory(name=f"Shelf {i}", slug=f"shelf-{i}") for i in range(3)]
    products = [
        ProductFactory(
            category=categories[i % 3],
            name=f"Product {i:03d}",
            platform=("windows", "steam", "xbox")[i % 3],
            region=("EU", "US")[i % 2],
        )
        for i in range(size)
    ]
    from catalog.images import product_image_add, product_image_clean
    from tests.factories import png_bytes, upload_new

    clean = product_image_clean(upload=upload_new(data=png_bytes(size=(400, 300))))
    for product in products[:30]:
        product_image_add(product=product, image=clean)
    url = reverse("catalog:catalog")
    client.get(url)  # warm up session, language and store clock
    with django_assert_max_num_queries(8):
        body = client.get(url, {"q": "product", "sort": "price", "region": "EU"}).content.decode()
    assert "/media/products/originals/" in body
    with django_assert_max_num_queries(8):
        client.get(url, {"in_stock": "1", "platform": "steam", "page": "2"})


@pytest.mark.postgres
def test_postgresql_search_can_use_its_gin_index(category):
    from django.contrib.postgres.search import SearchQuery

    from catalog.selectors import search_document

    ProductFactory(category=category, name="Office 2021 Professional")
    matches = Product.objects.annotate(document=search_document()).filter(
        document=SearchQuery("office:*", search_type="raw", config="simple")
    )
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "storefront_product")
        assert "product_search_document_gin" in constraints
        # On a table of a few rows the planner prefers any scan to an index lookup: take
        # away the sequential scan and the full walks of the other (b-tree) indexes, so the
        # plan shows whether the search condition can be answered by the GIN index at all.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_indexonlyscan = off")
        sql, params = matches.query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "product_search_document_gin" in plan, plan
