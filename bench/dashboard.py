#!/usr/bin/env python
"""Benchmark: the staff dashboard (the admin's front page) over 100,000 orders.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/keystore_bench .venv/bin/python bench/dashboard.py

Creates and migrates the database if needed, then seeds --orders paid orders spread over
the last 120 days (one line each, over 10 products), with refunds, claims (some decided),
disputes, held and backordered orders, and keys (some sold, some defective) with
PostgreSQL COPY, so seeding takes seconds; a second run reuses what is there. It renders
`/admin/?period=90` as a signed-in manager: the query count of one render, and the median
wall time of --runs renders (after one warm-up). Ends with one line:

    RESULT name=dashboard orders=... queries=... dashboard_queries=... ms=... seed_s=...

`queries` is the whole request (session, staff MFA, permissions, recent actions, the
dashboard); `dashboard_queries` is web.dashboard.dashboard_get alone. Both must be
the same at any number of orders.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from datetime import timedelta
from decimal import Decimal

from common import django_ready  # noqa: E402 (sets up sys.path)

PRODUCTS = 10
EMAIL_PREFIX = "dash-bench-"


def products_ensure():
    from catalog.models import Category, Product

    category, _ = Category.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    products = []
    for i in range(PRODUCTS):
        product, _ = Product.objects.get_or_create(
            sku=f"DASH-BENCH-{i:02d}",
            defaults={
                "category": category,
                "name": f"Dashboard bench product {i:02d}",
                "slug": f"dashboard-bench-{i:02d}",
                "platform": "windows",
                "price": Decimal(10 + 5 * i),
                "low_stock_threshold": 50,
            },
        )
        products.append(product)
    return products


def orders_seed(*, count: int, products) -> int:
    """``count`` paid orders (and their lines) by COPY; returns how many were added."""
    from django.db import connection
    from django.utils import timezone

    from orders.models import Order, order_number_new

    have = Order.objects.filter(email__startswith=EMAIL_PREFIX).count()
    missing = count - have
    if missing <= 0:
        return 0
    now = timezone.now()
    statuses = ["delivered"] * 96 + ["refunded", "partially_refunded", "on_hold", "backordered"]
    order_ids = []
    with connection.cursor() as cursor:
        with cursor.copy(
            "COPY orders_order (id, number, email, billing_name, language, status, currency, "
            "total, user_agent, policy_preset, gateway, gateway_session_id, gateway_payment_id, "
            "cart_ref, created_at, paid_at, delivered_at, refunded_total, billing_country, "
            "billing_company, billing_vat_number, tax_regime, tax_treatment, card_country, "
            "location_conflict, subtotal, discount_total, net_total, tax_total, coupon_code) "
            "FROM STDIN"
        ) as copy:
            for i in range(have, have + missing):
                product = products[i % len(products)]
                paid = now - timedelta(minutes=(i * 7919) % (120 * 24 * 60))
                status = statuses[i % len(statuses)]
                oid = uuid.uuid4()
                order_ids.append((oid, product))
                delivered = paid if status not in ("on_hold", "backordered") else None
                copy.write_row(
                    (oid, order_number_new(), f"{EMAIL_PREFIX}{i}@bench.invalid", "Bench",
                     "en", status, "EUR", product.price, "", "", "test", "", "", "",
                     paid, paid, delivered, 0, "", "", "", "none", "none", "", False,
                     product.price, 0, product.price, 0, "")
                )  # fmt: skip
        with cursor.copy(
            "COPY orders_orderline (order_id, product_id, product_name, quantity, unit_price, "
            "line_total, net_amount, discount_amount, tax_amount, tax_rate, exchange_reference) "
            "FROM STDIN"
        ) as copy:
            for oid, product in order_ids:
                copy.write_row(
                    (oid, product.pk, product.name, 1, product.price, product.price,
                     product.price, 0, 0, 0, "")
                )  # fmt: skip
    return missing


def extras_seed(*, products) -> None:
    """Refunds, claims, disputes and keys, once per database."""
    from django.db import connection
    from django.utils import timezone

    from keys.models import Key, KeyBatch, Supplier
    from orders.models import Order, OrderLine, Refund
    from refunds.models import Claim, Dispute

    if Claim.objects.filter(guest_email__startswith=EMAIL_PREFIX).exists():
        return
    now = timezone.now()
    orders = list(
        Order.objects.filter(email__startswith=EMAIL_PREFIX)
        .order_by("number")
        .values_list("pk", "email", "total", "paid_at")[:6000]
    )
    line_of = dict(
        OrderLine.objects.filter(order_id__in=[o[0] for o in orders]).values_list("order_id", "pk")
    )
    Refund.objects.bulk_create(
        Refund(order_id=pk, amount=total, currency="EUR", reason="claim", reference="bench",
               status="succeeded", idempotency_key=f"dash-bench-{pk}", gateway="test")
        for pk, _email, total, _paid in orders[:2000]
    )  # fmt: skip
    reasons = ["key_invalid", "key_already_used", "not_delivered", "activation_problem"]
    claims = Claim.objects.bulk_create(
        Claim(order_id=pk, order_line_id=line_of[pk], guest_email=email,
              reason=reasons[i % len(reasons)], description="bench", preset_slug="bench",
              status="rejected" if i % 3 else "submitted",
              verification_due_at=None if i % 3 else now + timedelta(hours=(i % 96) - 48))
        for i, (pk, email, _total, _paid) in enumerate(orders[:5000])
    )  # fmt: skip
    with connection.cursor() as cursor:  # spread submissions and decisions over 120 days
        cursor.execute(
            "UPDATE refunds_claim SET created_at = now() - (id %% 120) * interval '1 day', "
            "decided_at = CASE WHEN status = 'rejected' THEN now() - (id %% 120) * "
            "interval '1 day' + (id %% 50) * interval '1 hour' END WHERE id = ANY(%s)",
            [[c.pk for c in claims]],
        )
    Dispute.objects.bulk_create(
        Dispute(order_id=pk, stripe_dispute_id=f"dp_dash_bench_{i}", amount=total,
                currency="EUR", status="needs_response" if i % 4 == 0 else "won")
        for i, (pk, _email, total, _paid) in enumerate(orders[5000:5200])
    )  # fmt: skip
    supplier, _ = Supplier.objects.get_or_create(name="Dashboard bench supplier")
    batches = [
        KeyBatch.objects.create(supplier=supplier, product=product, cost_per_key=Decimal("1.00"))
        for product in products
    ]
    with (
        connection.cursor() as cursor,
        cursor.copy(
            "COPY keys_key (product_id, batch_id, status, ciphertext, fingerprint, last4, "
            "order_line_id, delivered_at, status_changed_at, created_at) FROM STDIN"
        ) as copy,
    ):
        sold_lines = list(line_of.values())
        for p, (product, batch) in enumerate(zip(products, batches, strict=True)):
            for k in range(2000):
                sold = k < 300
                status = ("defective" if k % 40 == 0 else "delivered") if sold else "available"
                copy.write_row(
                    (product.pk, batch.pk, status, "bench-not-a-token",
                     f"dashbench{p:02d}{k:06d}".ljust(64, "0"), "0000",
                     sold_lines[(p * 300 + k) % len(sold_lines)] if sold else None,
                     now if sold else None, now, now)
                )  # fmt: skip
    assert Key.objects.filter(product__in=products).exists()


def manager_client():
    from django.test import Client

    from tests.factories import UserFactory
    from tests.staff import staff_login

    user = UserFactory(email="dashboard-bench-manager@bench.invalid", is_staff=True,
                       is_superuser=True)  # fmt: skip
    return staff_login(client=Client(), user=user)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    django_ready()

    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from core.shop_clock import shop_time_zone
    from web.dashboard import dashboard_get

    started = time.perf_counter()
    products = products_ensure()
    added = orders_seed(count=args.orders, products=products)
    extras_seed(products=products)
    seed_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    from orders.models import Order

    orders = Order.objects.filter(email__startswith=EMAIL_PREFIX).count()
    print(f"seeded {added} orders in {seed_s:.1f} s; {orders} bench orders in the database")

    client = manager_client()
    assert client.get("/admin/?period=90").status_code == 200  # warm-up
    reset_queries()  # the log holds at most 9000 queries: a full one captures nothing
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/admin/?period=90")
    assert response.status_code == 200 and b'id="ks-dashboard"' in response.content
    queries = len(captured)
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(shop_time_zone())
    reset_queries()
    with CaptureQueriesContext(connection) as dash:
        dashboard_get(period_key="90", now=timezone.now(), tz=tz)
    dash_queries = list(dash.captured_queries)  # a view of the log, which requests reset
    timings = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        client.get("/admin/?period=90")
        timings.append((time.perf_counter() - t0) * 1000)
    for sql in sorted(dash_queries, key=lambda q: -float(q["time"]))[:3]:
        print(f"slowest dashboard query {float(sql['time']) * 1000:.0f} ms: {sql['sql'][:120]}")
    print(
        f"RESULT name=dashboard orders={orders} queries={queries} "
        f"dashboard_queries={len(dash_queries)} ms={statistics.median(timings):.0f} "
        f"seed_s={seed_s:.1f}"
    )


if __name__ == "__main__":
    main()
