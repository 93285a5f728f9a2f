"""Admin lists of large tables: 50 rows a page and a count that stops growing with the table.

Past ``exact_limit`` matching rows PostgreSQL's planner estimates the count (no scan of
the table) and the list says "about"; below it, or on SQLite, the count is exact.
"""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.admin_paginator import EstimatedCountPaginator
from orders.models import Order
from tests.factories import OrderFactory, ProductFactory, orders_delivered_bulk
from tests.staff import staff_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, staff_user):
    staff_login(client=client, user=staff_user)
    return client


def _orders(count: int) -> None:
    for _ in range(count):
        OrderFactory()


def _count_line(html: str) -> str:
    paginator = re.search(r'<p class="paginator">(.*?)</p>', html, re.S)
    assert paginator, "no paginator on the page"
    return " ".join(re.sub(r"<[^>]+>", " ", paginator.group(1)).split())


def test_a_small_list_shows_the_exact_count(staff_client, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "exact_limit", 10)
    _orders(7)

    response = staff_client.get("/admin/orders/order/")

    assert response.status_code == 200
    assert _count_line(response.content.decode()).endswith("7 orders")
    assert "about" not in _count_line(response.content.decode())


def test_the_order_list_shows_fifty_orders_a_page(staff_client):
    _orders(51)

    first = staff_client.get("/admin/orders/order/")
    second = staff_client.get("/admin/orders/order/?p=2")

    assert len(first.context["cl"].result_list) == 50
    assert len(second.context["cl"].result_list) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the estimate is PostgreSQL's")
def test_past_the_exact_limit_the_list_says_about_and_never_counts_less_than_it_saw(
    staff_client, monkeypatch
):
    monkeypatch.setattr(EstimatedCountPaginator, "exact_limit", 5)
    _orders(60)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE orders_order")

    response = staff_client.get("/admin/orders/order/")

    line = _count_line(response.content.decode())
    number = int(re.search(r"about ([\d,\s\u202f\xa0]+) orders", line).group(1).replace(",", "")
                 .replace(" ", "").replace("\u202f", "").replace("\xa0", ""))  # fmt: skip
    assert number >= 6 and abs(number - Order.objects.count()) <= 6  # the planner's guess
    assert response.context["cl"].paginator.count_is_estimate
    # the pages still work: the second page lists the rest
    assert len(staff_client.get("/admin/orders/order/?p=2").context["cl"].result_list) == 10


def test_filtered_lists_are_counted_exactly_when_small(staff_client, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "exact_limit", 5)
    _orders(8)
    OrderFactory(status="cancelled")

    response = staff_client.get("/admin/orders/order/?status__exact=cancelled")

    assert _count_line(response.content.decode()).endswith("1 order")
    assert not response.context["cl"].paginator.count_is_estimate


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the estimate is PostgreSQL's")
def test_the_list_runs_as_many_queries_past_the_exact_limit_as_below_it(staff_client, monkeypatch):
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(EstimatedCountPaginator, "exact_limit", 5)
    _orders(3)
    staff_client.get("/admin/orders/order/")  # sessions, caches: warm
    with CaptureQueriesContext(connection) as small:
        staff_client.get("/admin/orders/order/")
    _orders(57)
    with CaptureQueriesContext(connection) as large:
        response = staff_client.get("/admin/orders/order/")

    assert response.context["cl"].paginator.count_is_estimate
    assert len(large.captured_queries) == len(small.captured_queries)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the estimate is PostgreSQL's")
def test_the_estimate_is_planned_on_the_ids_without_the_lists_joins(staff_client, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "exact_limit", 2)
    orders_delivered_bulk(product=ProductFactory(), count=4)
    with CaptureQueriesContext(connection) as captured:
        response = staff_client.get("/admin/keys/key/")

    assert response.context["cl"].paginator.count_is_estimate
    [explain] = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("EXPLAIN")]
    assert " JOIN " not in explain  # the key list joins product, order line and order
    assert '"keys_key"."ciphertext"' not in explain  # the ids only
