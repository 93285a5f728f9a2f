"""Rendered fragments kept per process (core.fragments): the catalog's product cards (and
the pages built the same way below) show the new state as soon as what they show changes,
in the visitor's language, with the same HTML as a fresh render and a query count that
does not depend on the number of rows."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import ProductImage
from core.fragments import fragments_clear
from tests.factories import ProductFactory, keys_create, order_delivered_new

pytestmark = pytest.mark.django_db

CSRF = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')


@pytest.fixture
def no_grid_cache(settings):
    """The real rendering on every request (no few-seconds grid or page cache)."""
    settings.CATALOG_GRID_CACHE_SECONDS = 0


def _card(body: str, name: str) -> str:
    start = body.index(f">{name}</a>")
    return body[
        body.rindex('<li class="card product-card">', 0, start) : body.index("</li>", start)
    ]


def test_a_changed_price_shows_on_the_next_catalog_page(client, product, no_grid_cache):
    keys_create(product=product, count=3)
    assert "€29.90" in _card(client.get("/").content.decode(), "Windows 11 Pro")
    product.price = Decimal("24.50")
    product.save(update_fields=["price"])
    card = _card(client.get("/").content.decode(), "Windows 11 Pro")
    assert "€24.50" in card and "€29.90" not in card


def test_selling_the_last_key_shows_out_of_stock_on_the_next_catalog_page(
    client, product, no_grid_cache
):
    keys_create(product=product, count=1)
    card = _card(client.get("/").content.decode(), "Windows 11 Pro")
    assert "stock-low" in card and "Only a few left" in card
    order_delivered_new(product=product)
    card = _card(client.get("/").content.decode(), "Windows 11 Pro")
    assert "stock-out" in card and "Out of stock" in card


def test_the_cards_follow_the_visitors_language(client, product, no_grid_cache):
    keys_create(product=product, count=10)
    assert "In stock" in _card(client.get("/").content.decode(), "Windows 11 Pro")
    french = _card(client.get("/?lang=fr").content.decode(), "Windows 11 Pro")
    assert "En stock" in french and "29,90\xa0€" in french and "Monde entier" in french
    arabic = client.get("/?lang=ar").content.decode()
    assert 'dir="rtl"' in arabic
    assert "Windows 11 Pro" in arabic and "En stock" not in arabic


def test_a_new_picture_and_its_thumbnails_show_on_the_next_catalog_page(
    client, product, no_grid_cache
):
    assert "product-img-placeholder" in _card(client.get("/").content.decode(), "Windows 11 Pro")
    image = ProductImage.objects.create(
        product=product, file="products/originals/a.png", width=800, height=600
    )
    card = _card(client.get("/").content.decode(), "Windows 11 Pro")
    assert "products/originals/a.png" in card and "placeholder" not in card
    ProductImage.objects.filter(pk=image.pk).update(
        thumbnails={"320": "products/thumbs/a-320.webp"}
    )  # as the thumbnail task writes them: no signal
    assert "a-320.webp 320w" in _card(client.get("/").content.decode(), "Windows 11 Pro")


def test_a_kept_card_is_the_same_html_as_a_fresh_render(client, category, no_grid_cache):
    for i in range(6):
        product = ProductFactory(category=category, name=f"Card {i}", slug=f"card-{i}")
        if i:
            keys_create(product=product, count=i)
    fragments_clear()
    fresh = CSRF.sub(r"\1\2", client.get("/").content.decode())
    kept = CSRF.sub(r"\1\2", client.get("/").content.decode())
    assert kept == fresh
    assert fresh.count('loading="lazy"') == 2  # the first four cards load at once


@pytest.mark.parametrize("warm", [False, True])
def test_the_catalog_runs_as_many_queries_for_3_as_for_30_products(
    client, category, no_grid_cache, warm
):
    counts = []
    client.get("/")  # the session, language and store clock
    for size in (3, 30):
        have = sum(1 for _ in category.products.all())
        for i in range(have, size):
            ProductFactory(category=category, name=f"Counted {i:02d}", slug=f"counted-{i}")
        if warm:
            client.get("/")
        else:
            fragments_clear()
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("catalog:catalog")).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


# --- the product page -----------------------------------------------------------------


def test_the_product_page_shows_a_new_price_the_last_key_sold_and_each_language(client, product):
    url = product.get_absolute_url()
    keys_create(product=product, count=1)
    page = client.get(url).content.decode()
    assert "€29.90" in page and "Only 1 left" in page and "Add to cart" in page
    product.price = Decimal("24.50")
    product.save(update_fields=["price"])
    page = client.get(url).content.decode()
    assert "€24.50" in page and "€29.90" not in page
    order_delivered_new(product=product)
    page = client.get(url).content.decode()
    assert "Out of stock" in page and "Add to cart" not in page
    french = client.get(url + "?lang=fr").content.decode()
    assert "24,50\xa0€" in french and "Rupture de stock" in french
    arabic = client.get(url + "?lang=ar").content.decode()
    assert 'dir="rtl"' in arabic and "Rupture de stock" not in arabic


def test_the_kept_product_page_carries_each_visitors_own_csrf_token_and_adds_to_cart(product):
    from django.test import Client

    keys_create(product=product, count=3)
    url = product.get_absolute_url()
    tokens = []
    for _ in range(2):  # the second visitor gets the kept text
        visitor = Client(enforce_csrf_checks=True)
        page = visitor.get(url).content.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        tokens.append(token)
        add = reverse("catalog:cart_add", args=[product.slug])
        assert visitor.post(add, {"quantity": 1}).status_code == 403  # no token: refused
        response = visitor.post(add, {"quantity": 1, "csrfmiddlewaretoken": token})
        assert response.status_code == 302
        assert "Windows 11 Pro" in visitor.get("/cart/").content.decode()
    assert tokens[0] != tokens[1]


# --- My Account and the claim list ----------------------------------------------------


@pytest.fixture
def antimart(db):
    from policies.services import preset_load

    return preset_load(slug="antimart", activate=True).preset


def _entry(page: str, number: str) -> str:
    start = page.index(f'id="order-{number}"')
    return page[start : page.index("</li>", start)]


@pytest.mark.usefixtures("antimart")
def test_my_account_shows_each_orders_new_state_in_the_customers_language(client, product):
    from orders.models import OrderEmail
    from tests.factories import UserFactory, orders_delivered_bulk

    customer = UserFactory(email="rows@example.com")
    (order,) = orders_delivered_bulk(product=product, count=1, user=customer)
    key = order.lines.get().keys.get()
    client.force_login(customer)
    url = reverse("accounts:dashboard")
    entry = _entry(client.get(url).content.decode(), order.number)
    assert f"•••• {key.last4}" in entry and "Email my keys again" in entry
    assert "Key email sent" not in entry

    OrderEmail.objects.create(order=order, kind="delivery", status="sent", sent_at=order.paid_at)
    assert "Key email sent" in _entry(client.get(url).content.decode(), order.number)
    type(order).objects.filter(pk=order.pk).update(status="disputed")  # no signal
    entry = _entry(client.get(url).content.decode(), order.number)
    assert "Disputed" in entry and f"•••• {key.last4}" in entry
    type(order).objects.filter(pk=order.pk).update(status="refunded")
    entry = _entry(client.get(url).content.decode(), order.number)
    assert "Refunded" in entry and f"•••• {key.last4}" not in entry
    french = _entry(client.get(url + "?lang=fr").content.decode(), order.number)
    assert "Remboursée" in french


@pytest.mark.usefixtures("antimart")
def test_my_account_shows_a_customer_only_their_own_orders_and_tokens(product):
    from django.test import Client

    from tests.factories import UserFactory, orders_delivered_bulk

    pages = {}
    for name in ("ana", "ben"):
        customer = UserFactory(email=f"{name}@example.com")
        (order,) = orders_delivered_bulk(product=product, count=1, user=customer)
        visitor = Client()
        visitor.force_login(customer)
        visitor.get(reverse("accounts:dashboard"))  # the entry is kept now
        pages[name] = (order.number, visitor.get(reverse("accounts:dashboard")).content.decode())
    (ana_order, ana_page), (ben_order, ben_page) = pages["ana"], pages["ben"]
    assert ana_order in ana_page and ben_order not in ana_page
    assert ben_order in ben_page and ana_order not in ben_page
    ana_tokens = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', ana_page))
    ben_tokens = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', ben_page))
    assert ana_tokens and not ana_tokens & ben_tokens


@pytest.mark.usefixtures("antimart")
def test_the_claim_lists_show_a_claims_new_status(client, product):
    from refunds.models import Claim
    from tests.factories import UserFactory, orders_delivered_bulk

    customer = UserFactory(email="claims@example.com")
    orders_delivered_bulk(product=product, count=2, user=customer, claim_every=1)
    client.force_login(customer)
    for url in (reverse("refunds:list"), reverse("accounts:dashboard")):
        Claim.objects.filter(user=customer).update(status="rejected")  # no signal
        page = client.get(url).content.decode()
        assert "Rejected" in page and "Submitted" not in page
        Claim.objects.filter(user=customer).update(status="submitted")
        page = client.get(url).content.decode()
        assert "Submitted" in page and "Rejected" not in page


def test_a_fragment_without_its_key_value_is_an_error_not_a_shared_text():
    from django.template import Context, Template, TemplateSyntaxError

    template = Template('{% load site_chrome %}{% fragment "row" missing %}x{% endfragment %}')
    with pytest.raises(TemplateSyntaxError):
        template.render(Context({}))


def test_the_product_page_shows_new_pictures_and_thumbnails_and_a_product_taken_off_sale(
    client, product, django_capture_on_commit_callbacks
):
    from catalog.images import product_image_add, product_image_clean
    from catalog.thumbnails import product_image_thumbnails_make
    from tests.factories import png_bytes, upload_new

    url = product.get_absolute_url()
    assert "product-img-placeholder" in client.get(url).content.decode()
    clean = product_image_clean(upload=upload_new(data=png_bytes(size=(640, 480))))
    with django_capture_on_commit_callbacks():  # the thumbnail task is run below
        image = product_image_add(product=product, image=clean)
    page = client.get(url).content.decode()  # the picture, before its thumbnails
    assert "product-img-placeholder" not in page and "srcset" not in page.split("gallery")[1]
    product_image_thumbnails_make(image_id=image.pk)
    image.refresh_from_db()
    assert image.thumbnails  # written with an update(), which sends no signal
    page = client.get(url).content.decode()
    assert "product-img-placeholder" not in page
    assert all(f"{name} " in page for name in image.thumbnails.values())
    product.is_active = False
    product.save(update_fields=["is_active"])
    assert client.get(url).status_code == 404
