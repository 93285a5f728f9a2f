"""Every customer page and admin list runs a fixed number of queries, whatever the number of
products, orders, claims, keys or batches (bench/pages.py measures them at 100 and 10,000+
rows; here a few rows against ten times as many)."""

from __future__ import annotations

from decimal import Decimal
from importlib import import_module

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from keys.models import KeyBatch, KeyView
from tests.factories import (
    KeyBatchFactory,
    ProductFactory,
    UserFactory,
    keys_create,
    orders_delivered_bulk,
)
from tests.staff import staff_login

pytestmark = pytest.mark.django_db


def _queries(client, url: str) -> int:
    client.get(url)  # sessions, caches and lazy imports settle first
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured)


@pytest.fixture
def _no_catalog_cache(settings):
    settings.CATALOG_GRID_CACHE_SECONDS = 0  # count the real rendering, not a cached copy


def _products(count: int, start: int = 0) -> list:
    products = [
        ProductFactory(
            name=f"Query product {i:03d}", slug=f"query-product-{i:03d}", sku=f"QP-{i:03d}"
        )  # fmt: skip
        for i in range(start, start + count)
    ]
    for product in products:
        keys_create(product=product, count=2)
    return products


@pytest.mark.usefixtures("_no_catalog_cache")
def test_catalog_product_and_cart_pages_run_the_same_queries_at_5_and_40_products(
    client, django_assert_num_queries
):
    products = _products(5)
    first = products[0]
    cart = client.__class__()
    cart.post(reverse("catalog:cart_add", args=[first.slug]), {"quantity": 1})
    urls = ["/", "/?page=1&platform=windows", f"/products/{first.slug}/", "/cart/"]
    few = {url: _queries(cart if url == "/cart/" else client, url) for url in urls}

    more = _products(35, start=5)
    keys_create(product=first, count=30, batch=KeyBatchFactory(product=first))
    cart.post(reverse("catalog:cart_add", args=[more[0].slug]), {"quantity": 1})
    for url in urls:
        who = cart if url == "/cart/" else client
        who.get(url)
        with django_assert_num_queries(few[url]):
            assert who.get(url).status_code == 200


@pytest.fixture
def customer(antimart):
    return UserFactory(email="many-orders@example.com")


def test_my_account_runs_the_same_queries_for_3_and_30_orders_and_pages_them(
    client, customer, stocked, django_assert_num_queries
):
    orders_delivered_bulk(product=stocked, count=3, user=customer, claim_every=2)
    client.force_login(customer)
    url = reverse("accounts:dashboard")
    few = _queries(client, url)

    orders_delivered_bulk(product=stocked, count=27, user=customer, claim_every=2)
    with django_assert_num_queries(few):
        page = client.get(url).content.decode()
    assert 'class="pagination"' in page
    assert page.count('class="card"') == 10  # one page of orders
    second = client.get(url + "?orders=3&claims=2").content.decode()
    assert second.count('class="card"') == 10 and "Page 3 of 3" in second
    assert "Page 2 of 2" in second  # the claims' own pages, kept beside the orders'


def test_my_account_shows_masked_keys_and_decrypts_none(client, customer, stocked):
    (order,) = orders_delivered_bulk(product=stocked, count=1, user=customer)
    key = order.lines.get().keys.get()
    client.force_login(customer)
    page = client.get(reverse("accounts:dashboard")).content.decode()
    assert f"•••• {key.last4}" in page
    assert not KeyView.objects.exists()  # listing keys reveals none; the button does, audited
    client.post(reverse("orders:key_reveal", args=[order.number, key.pk]))
    assert KeyView.objects.filter(key=key, channel="account", user=customer).count() == 1


def test_order_and_claim_pages_run_the_same_queries_for_3_and_30_orders(
    client, customer, stocked, django_assert_num_queries
):
    orders = orders_delivered_bulk(product=stocked, count=3, user=customer, claim_every=2)
    client.force_login(customer)
    urls = [reverse("orders:detail", args=[orders[0].number]), reverse("refunds:list"),
            reverse("orders:track")]  # fmt: skip
    few = {url: _queries(client, url) for url in urls}
    orders_delivered_bulk(product=stocked, count=27, user=customer, claim_every=2)
    for url in urls:
        with django_assert_num_queries(few[url]):
            assert client.get(url).status_code == 200


@pytest.fixture
def staff_client(client, staff_user):
    staff_login(client=client, user=staff_user)
    return client


ADMIN_LISTS = [
    "admin:orders_order_changelist",
    "admin:refunds_claim_changelist",
    "admin:keys_key_changelist",
    "admin:keys_keybatch_changelist",
]


def _admin_rows(*, products: int, orders_each: int, start: int) -> None:
    """Orders with keys and claims over ``products`` products, each in its own batch."""
    for i in range(start, start + products):
        product = ProductFactory(name=f"Admin product {i:03d}", slug=f"admin-product-{i:03d}",
                                 sku=f"AP-{i:03d}", price=Decimal("9.90"))  # fmt: skip
        orders_delivered_bulk(product=product, count=orders_each, email=f"guest{i}@example.com",
                              claim_every=2)  # fmt: skip


@pytest.mark.usefixtures("antimart")
def test_admin_lists_run_the_same_queries_at_5_and_50_rows(staff_client, django_assert_num_queries):
    _admin_rows(products=5, orders_each=1, start=0)
    few = {name: _queries(staff_client, reverse(name)) for name in ADMIN_LISTS}

    _admin_rows(products=15, orders_each=3, start=5)  # 50 orders, keys, claims; 20 batches
    for name in ADMIN_LISTS:
        url = reverse(name)
        with django_assert_num_queries(few[name]):
            assert staff_client.get(url).status_code == 200, name
        # and with each list's filters in use
        filtered = {
            "admin:orders_order_changelist": "?status=delivered&gateway=test&language=en",
            "admin:refunds_claim_changelist": "?status=submitted&preset_slug=antimart",
            "admin:keys_key_changelist": "?status=delivered",
            "admin:keys_keybatch_changelist": "?is_quarantined=0",
        }[name]
        assert staff_client.get(url + filtered).status_code == 200


def test_the_key_list_filters_list_the_newest_batches_and_still_filter_on_any(
    staff_client, stocked
):
    from core.admin_filters import NewestRelatedListFilter

    oldest = KeyBatch.objects.get()
    newer = [KeyBatchFactory(product=stocked, reference=f"newer-{i}")
             for i in range(NewestRelatedListFilter.limit + 2)]  # fmt: skip
    keys_create(product=stocked, count=1, batch=newer[-1])
    url = reverse("admin:keys_key_changelist")
    page = staff_client.get(url).content.decode()
    assert f'?batch__id__exact={newer[-1].pk}"' in page
    assert f'?batch__id__exact={oldest.pk}"' not in page  # beyond the newest 25
    chosen = staff_client.get(url, {"batch__id__exact": oldest.pk})
    assert chosen.status_code == 200
    assert len(chosen.context["cl"].result_list) == 5  # the old batch's keys, all of them
    assert f'?batch__id__exact={oldest.pk}"' in chosen.content.decode()  # shown while chosen
    batches = staff_client.get(reverse("admin:keys_keybatch_changelist")).content.decode()
    assert f'?batch__id__exact={oldest.pk}"' in batches  # each batch links to its keys


def test_the_order_list_rows_keep_djangos_action_checkbox(staff_client, stocked):
    (order,) = orders_delivered_bulk(product=stocked, count=1)
    page = staff_client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert (
        f'<input type="checkbox" name="_selected_action" value="{order.pk}" '
        f'class="action-select" aria-label="Select this object for an action - {order.number}">'
    ) in page
    assert 'id="action-toggle"' in page  # the header's select-all box is Django's own


@pytest.fixture
def manager_client(client, db):
    """A signed-in Manager (the staff role, not a superuser: permissions are read). The
    role is synced first: a transactional test on the same worker may have flushed the
    groups the migration made."""
    import_module("accounts.migrations.0003_staff_roles").roles_sync(django_apps)
    user = UserFactory(email="manager@example.com", is_staff=True)
    user.groups.add(Group.objects.get(name="Manager"))
    return staff_login(client=client, user=user)


# Each list as staff open it: plain, filtered, searched, sorted by a computed column.
ADMIN_LIST_VIEWS = {
    "admin:orders_order_changelist": ["", "?status__exact=delivered", "?q=guest"],
    "admin:refunds_claim_changelist": ["", "?status__exact=submitted", "?due=overdue&q=CL"],
    "admin:keys_key_changelist": ["", "?status__exact=delivered", "?o=-6"],
    "admin:keys_keybatch_changelist": ["", "?o=6", "?o=-7&is_quarantined__exact=0"],
}


@pytest.mark.usefixtures("antimart")
def test_admin_lists_run_the_same_queries_for_3_and_30_rows_as_a_manager(
    manager_client, django_assert_num_queries
):
    def rows(*, products: int, orders_each: int, start: int) -> None:
        # every order with a key and a claim (open and decided in turn), a batch a product
        for i in range(start, start + products):
            product = ProductFactory(name=f"List product {i:03d}", slug=f"list-product-{i:03d}",
                                     sku=f"LP-{i:03d}", price=Decimal("9.90"))  # fmt: skip
            orders_delivered_bulk(product=product, count=orders_each,
                                  email=f"guest{i}@example.com", claim_every=1)  # fmt: skip

    rows(products=3, orders_each=1, start=0)
    urls = [reverse(name) + query for name, queries in ADMIN_LIST_VIEWS.items()
            for query in queries]  # fmt: skip
    few = {url: _queries(manager_client, url) for url in urls}

    rows(products=9, orders_each=3, start=3)  # 30 orders, keys and claims; 12 batches
    for url in urls:
        with django_assert_num_queries(few[url]):
            response = manager_client.get(url)
        assert response.status_code == 200, url
        if "?" not in url:
            assert len(response.context["cl"].result_list) >= 12, url
