#!/usr/bin/env python
"""Benchmark: hundreds of concurrent buyers for the last few keys, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/keystore_bench .venv/bin/python bench/oversell.py

Creates the database if it is missing and migrates it. Puts KEYS keys of a fresh product
in stock, then starts BUYERS threads together (each with its own database connection, at
most --connections at once: PostgreSQL allows 100 by default) that each create an order
and call `keys.services.key_allocate` for 1 key (or 1-3 with --mixed). Checks the outcome
in the database and ends with one line:

    RESULT buyers=... keys=... sold=... duplicates=... errors=...

sold = keys now on an order line; duplicates = keys handed to more than one buyer (must
be 0); errors = buyers that got an exception instead of keys or a clean out-of-stock
answer (must be 0). Exit status 1 if anything is wrong: sold > keys, a duplicate, an
error, a partial order, or a buyer refused while their quantity was still in stock.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
from collections import Counter

from common import bench_product_new, django_ready  # noqa: E402 (sets up sys.path)
from import_keys import codes  # noqa: E402

os.environ.pop("REDIS_URL", None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--buyers", type=int, default=200)
    parser.add_argument("--keys", type=int, default=50)
    parser.add_argument("--connections", type=int, default=60)
    parser.add_argument("--mixed", action="store_true", help="each buyer wants 1 to 3 keys")
    args = parser.parse_args()
    django_ready()
    from django.db import connections

    from keys.models import Key, KeyBatch, Supplier
    from keys.services import key_allocate, key_import
    from orders.models import Order, OrderLine

    run = int(time.time() * 1000)
    product = bench_product_new(label="Oversell")
    supplier, _ = Supplier.objects.get_or_create(name="Bench supplier")
    batch = KeyBatch.objects.create(supplier=supplier, product=product, cost_per_key="1.00")
    report = key_import(
        product=product, batch=batch, lines=codes(args.keys, run), source_name="oversell"
    )
    assert report.ok, report.message

    rng = random.Random(run)
    wanted = [rng.randint(1, 3) if args.mixed else 1 for _ in range(args.buyers)]
    results: dict[int, object] = {}
    errors: list[str] = []
    barrier = threading.Barrier(args.buyers)
    gate = threading.Semaphore(args.connections)

    def buyer(index: int) -> None:
        try:
            barrier.wait()
            with gate:
                try:
                    order = Order.objects.create(
                        email=f"buyer{index}@example.com",
                        billing_name="Bench Buyer",
                        currency="EUR",
                        total=product.price * wanted[index],
                    )
                    line = OrderLine.objects.create(
                        order=order,
                        product=product,
                        product_name=product.name,
                        quantity=wanted[index],
                        unit_price=product.price,
                        line_total=product.price * wanted[index],
                    )
                    results[index] = (
                        line.pk,
                        key_allocate(order_line=line, quantity=wanted[index]),
                    )
                finally:
                    connections.close_all()
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=buyer, args=(i,)) for i in range(args.buyers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started

    handed = Counter(k.pk for _line, r in results.values() if r.ok for k in r.keys)
    duplicates = sum(n - 1 for n in handed.values() if n > 1)
    sold = Key.objects.filter(product=product, order_line__isnull=False).count()
    left = Key.objects.filter(product=product, status="available").count()
    partial = 0
    refused = []
    for index, (line_pk, result) in results.items():
        held = Key.objects.filter(order_line_id=line_pk).count()
        partial += held != (wanted[index] if result.ok else 0)
        if not result.ok:
            refused.append(wanted[index])
    turned_away = sum(1 for q in refused if q <= left)
    for message in errors[:5]:
        print("error:", message)
    print(
        f"{args.buyers} buyers, {args.keys} keys, {len(refused)} clean out-of-stock answers, "
        f"{left} keys left, {partial} partial orders, {turned_away} buyers refused while "
        f"their quantity was in stock; {seconds:.2f} s"
    )
    print(
        f"RESULT buyers={args.buyers} keys={args.keys} sold={sold} duplicates={duplicates} "
        f"errors={len(errors)}"
    )
    bad = sold > args.keys or duplicates or errors or partial or turned_away
    bad = bad or (not args.mixed and sold != min(args.keys, args.buyers))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
