import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_catalog_lists_active_products_and_hides_inactive(client, product):
    ProductFactory(name="Retired Office 2010", slug="retired-office-2010", is_active=False)
    response = client.get(reverse("catalog:catalog"))
    assert response.status_code == 200
    assert "Windows 11 Pro" in response.content.decode()
    assert "Retired Office 2010" not in response.content.decode()


def test_catalog_filters_by_platform_and_category(client, product):
    gift = CategoryFactory(name="Gift cards", slug="gift-cards")
    ProductFactory(
        category=gift,
        name="Steam Wallet 20 EUR",
        slug="steam-20",
        platform="steam",
        kind="gift_code",
        denomination="20.00",
    )
    body = client.get(reverse("catalog:catalog"), {"platform": "steam"}).content.decode()
    assert "Steam Wallet 20 EUR" in body and "Windows 11 Pro" not in body
    body = client.get(
        reverse("catalog:catalog"), {"category": "operating-systems"}
    ).content.decode()
    assert "Windows 11 Pro" in body and "Steam Wallet 20 EUR" not in body


def test_search_matches_every_word_of_the_query(client, product):
    ProductFactory(name="Office 2021 Professional Plus", slug="office-2021-pp", edition="2021")
    body = client.get(reverse("catalog:catalog"), {"q": "office 2021"}).content.decode()
    assert "Office 2021 Professional Plus" in body
    assert "Windows 11 Pro" not in body


def test_unknown_filter_values_show_a_form_error_not_a_crash(client, product):
    response = client.get(
        reverse("catalog:catalog"),
        {"category": "no-such", "platform": "amiga", "region": "Atlantis", "sort": "random"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    invalid = "Select a valid choice"
    for field, value in (
        ("category", "no-such"),
        ("platform", "amiga"),
        ("region", "Atlantis"),
        ("sort", "random"),
    ):
        error = re.search(rf'<div id="id_{field}-error" role="alert"[^>]*>(.*?)</div>', body, re.S)
        assert error is not None, field
        assert invalid in error.group(1) and value in error.group(1), field
        # the field says it is invalid and points at its message
        assert re.search(
            rf'id="id_{field}" aria-invalid="true" aria-describedby="id_{field}-error"', body
        )
    assert "Windows 11 Pro" in body  # the rest of the page still works
    fine = client.get(reverse("catalog:catalog"), {"category": "", "platform": "steam"})
    assert 'role="alert"' not in fine.content.decode()


def test_an_unknown_filter_value_keeps_what_was_typed_and_the_valid_filters(client, product):
    """One bad value is reported beside its field; the search typed and the other filters
    stay in the form and still apply to the products listed."""
    ProductFactory(name="Steam Wallet 20 EUR", slug="steam-20", platform="steam")
    ProductFactory(name="Windows 10 Home", slug="windows-10-home", platform="windows")
    body = client.get(
        reverse("catalog:catalog"), {"q": "windows", "platform": "windows", "region": "Atlantis"}
    ).content.decode()
    error = re.search(r'<div id="id_region-error" role="alert"[^>]*>(.*?)</div>', body, re.S)
    assert error is not None and "Select a valid choice" in error.group(1)
    assert "Atlantis" in error.group(1)
    assert re.search(r'<input type="search" name="q" id="id_q"[^>]* value="windows"', body)
    assert '<option value="windows" selected>' in body
    assert "Windows 11 Pro" in body and "Windows 10 Home" in body
    assert "Steam Wallet" not in body  # the platform filter still applies


def test_htmx_filter_returns_only_the_product_grid(client, product):
    response = client.get(reverse("catalog:catalog"), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "Windows 11 Pro" in body and "<html" not in body


@pytest.fixture
def no_grid_cache(settings):
    """Measure the real rendering, not the few-seconds grid cache."""
    settings.CATALOG_GRID_CACHE_SECONDS = 0


@pytest.mark.parametrize("count", [3, 30])
def test_catalog_query_count_does_not_grow_with_the_catalog(client, category, count, no_grid_cache):
    for i in range(count):
        ProductFactory(category=category, name=f"Product {count}-{i}", slug=f"p-{count}-{i}")
    client.get(reverse("catalog:catalog"))  # warm up session/language lookups
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("catalog:catalog")).status_code == 200
    assert len(queries) <= 6, [q["sql"] for q in queries.captured_queries]


def test_catalog_query_count_is_identical_for_small_and_large_catalogs(
    client, category, no_grid_cache
):
    counts = []
    client.get(reverse("catalog:catalog"))  # warm up session, language and store clock
    for size in (2, 40):
        for i in range(size - len(counts) * 2):
            ProductFactory(category=category)
        with CaptureQueriesContext(connection) as queries:
            client.get(reverse("catalog:catalog"))
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_product_page_shows_requirements_before_purchase(client, product):
    product.system_requirements = "TPM 2.0 required"
    product.compatibility_notes = "Does not work on Mac computers."
    product.save(update_fields=["system_requirements", "compatibility_notes"])
    body = client.get(product.get_absolute_url()).content.decode()
    assert "TPM 2.0 required" in body
    assert "Does not work on Mac computers." in body


def test_product_page_query_count_is_fixed(client, product):
    client.get(product.get_absolute_url())
    with CaptureQueriesContext(connection) as queries:
        client.get(product.get_absolute_url())
    assert len(queries) <= 4


def test_inactive_product_page_is_404(client, product):
    product.is_active = False
    product.save(update_fields=["is_active"])
    assert client.get(product.get_absolute_url()).status_code == 404


def test_a_large_catalog_is_paged_and_every_product_is_reachable(client, category):
    for i in range(30):
        ProductFactory(category=category, name=f"Antivirus {i:02d}", slug=f"antivirus-{i:02d}")
    first = client.get(reverse("catalog:catalog"), {"q": "antivirus"}).content.decode()
    assert "Antivirus 00" in first and "Antivirus 29" not in first
    assert "Page 1 of 2" in first
    assert "q=antivirus&amp;page=2" in first  # the filters survive paging
    second = client.get(reverse("catalog:catalog"), {"q": "antivirus", "page": 2}).content.decode()
    assert "Antivirus 29" in second and "Antivirus 00" not in second


def test_an_out_of_range_page_shows_the_last_page(client, product):
    response = client.get(reverse("catalog:catalog"), {"page": "999"})
    assert response.status_code == 200
    assert "Windows 11 Pro" in response.content.decode()


def test_the_rendered_grid_is_reused_for_the_same_filters_and_language(client, product):
    client.get(reverse("catalog:catalog"), {"platform": "windows"})
    with CaptureQueriesContext(connection) as queries:
        body = client.get(reverse("catalog:catalog"), {"platform": "windows"}).content.decode()
    assert "Windows 11 Pro" in body
    assert not any("storefront_product" in q["sql"] for q in queries.captured_queries)


def test_the_grid_cache_is_per_filter_and_per_language(client, product):
    ProductFactory(name="Steam Wallet 20 EUR", slug="steam-20", platform="steam")
    assert "Steam Wallet" in client.get(reverse("catalog:catalog")).content.decode()
    body = client.get(reverse("catalog:catalog"), {"platform": "windows"}).content.decode()
    assert "Steam Wallet" not in body
    client.post(reverse("set_language"), {"language": "fr", "next": "/"})
    body = client.get(reverse("catalog:catalog"), {"platform": "windows"}).content.decode()
    assert "Rupture de stock" in body  # the French grid, not the cached English one


def test_a_visitor_without_a_session_gets_the_shared_page_without_queries(client, product):
    first = client.get(reverse("catalog:catalog")).content.decode()
    assert "csrfmiddlewaretoken" not in first  # nothing on the page belongs to one visitor
    with CaptureQueriesContext(connection) as queries:
        again = client.get(reverse("catalog:catalog")).content.decode()
    assert again == first
    assert len(queries) == 0


def test_the_page_cached_for_everyone_does_not_carry_a_crafted_query_string(client, product):
    from django.test import Client

    crafted = client.get(
        reverse("catalog:catalog"),
        {"q": "", "utm": '"><a href="https://evil.example/">Your account is locked</a>'},
    ).content.decode()
    assert "evil.example" not in crafted
    body = Client().get(reverse("catalog:catalog")).content.decode()  # the next visitor
    assert "evil.example" not in body and "utm" not in body
    assert 'name="next" type="hidden" value="/"' in body


def test_the_language_form_returns_to_the_same_filters(client, product):
    body = client.get(
        reverse("catalog:catalog"), {"platform": "windows", "junk": "1"}
    ).content.decode()
    assert 'name="next" type="hidden" value="/?platform=windows"' in body


def test_a_visitor_with_a_cart_never_gets_the_shared_page(client, product):
    from tests.factories import keys_create

    keys_create(product=product, count=3)
    client.get(reverse("catalog:catalog"))  # fills the shared page: "Cart 0"
    client.post(reverse("catalog:cart_add", args=[product.slug]), {"quantity": 2})
    body = client.get(reverse("catalog:catalog")).content.decode()
    assert '<span class="badge" aria-label="2 items">2</span>' in body


def test_language_switch_sets_the_language_and_stays_on_site(client):
    response = client.get(reverse("catalog:language"), {"language": "ar", "next": "/cart/"})
    assert response.status_code == 302 and response["Location"] == "/cart/"
    assert client.cookies["django_language"].value == "ar"
    assert 'dir="rtl"' in client.get("/cart/").content.decode()

    response = client.get(
        reverse("catalog:language"), {"language": "fr", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("catalog:catalog")
    response = client.get(reverse("catalog:language"), {"language": "xx", "next": "/"})
    assert client.cookies["django_language"].value == "fr"  # an unknown language changes nothing
