#!/usr/bin/env python
"""Benchmark: hundreds of concurrent buyers for the last few keys, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/keystore_bench .venv/bin/python bench/oversell.py

Creates the database if it is missing and migrates it. Puts KEYS keys of a fresh product
in stock, then starts BUYERS threads together (each with its own database connection, at
most --connections at once: PostgreSQL allows 100 by default) that each create an order
and call `keys.services.key_allocate` for 1 key (or 1-3 with --mixed), inside the buyer's
own transaction. Ends with one line:

    RESULT name=oversell buyers=... keys=... sold=... doubled=... errors=... partial=...
           refused=... refused_in_stock=... seconds=...

sold = keys now on an order line (must equal keys when buyers want more than there is);
doubled = keys handed to more than one buyer (must be 0); errors = buyers that got an
exception instead of keys or a clean out-of-stock answer; partial = orders holding some
but not all of what they asked for; refused_in_stock = buyers refused while their
quantity was in stock *at the moment of the refusal*: when `key_allocate` says no, the
buyer counts the sellable keys in the same transaction, before it commits (still holding
whatever keys it locked). A correct allocator waits for the keys other buyers hold, so
what it leaves unlocked is stock that is not there; an allocator that skips locked keys
and gives up turns buyers away while those keys may still return to stock, and this
check fires (`--naive` runs such an allocator to show it: expect exit status 1).
Exit status 1 if anything is wrong.
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


def _naive_lock_sellable(*, product_id: int, count: int):
    """The allocator's first pass alone: skip keys other buyers hold and give up."""
    from keys.selectors import key_allocatable

    qs = key_allocatable(product_id=product_id)
    return list(qs.select_for_update(skip_locked=True, of=("self",))[:count])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--buyers", type=int, default=200)
    parser.add_argument("--keys", type=int, default=50)
    parser.add_argument("--connections", type=int, default=60)
    parser.add_argument("--mixed", action="store_true", help="each buyer wants 1 to 3 keys")
    parser.add_argument(
        "--naive", action="store_true", help="a skip-locked-only allocator (the check fires)"
    )
    args = parser.parse_args()
    django_ready()
    from django.db import connections, transaction

    from keys.models import Key, KeyBatch, Supplier
    from keys.selectors import key_allocatable
    from keys.services import allocation, key_allocate, key_import
    from orders.models import Order, OrderLine

    if args.naive:
        allocation._keys_lock_sellable = _naive_lock_sellable
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
    results: dict[int, tuple] = {}
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
                    with transaction.atomic():
                        result = key_allocate(order_line=line, quantity=wanted[index])
                        # The stock at the moment of a refusal, read before this buyer's
                        # transaction commits (so the keys it locked are still its own).
                        in_stock = (
                            None if result.ok else key_allocatable(product_id=product.pk).count()
                        )
                    results[index] = (line.pk, result, in_stock)
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

    handed = Counter(k.pk for _line, r, _s in results.values() if r.ok for k in r.keys)
    doubled = sum(n - 1 for n in handed.values() if n > 1)
    sold = Key.objects.filter(product=product, order_line__isnull=False).count()
    left = Key.objects.filter(product=product, status="available").count()
    held = Counter(
        Key.objects.filter(
            order_line_id__in=[line for line, _r, _s in results.values()]
        ).values_list("order_line_id", flat=True)
    )
    partial = refused = refused_in_stock = 0
    for index, (line_pk, result, in_stock) in results.items():
        partial += held[line_pk] != (wanted[index] if result.ok else 0)
        if not result.ok:
            refused += 1
            refused_in_stock += in_stock >= wanted[index]
    for message in errors[:5]:
        print("error:", message)
    print(
        f"{args.buyers} buyers, {args.keys} keys, {refused} clean out-of-stock answers, "
        f"{left} keys left, {partial} partial orders, {refused_in_stock} buyers refused while "
        f"their quantity was in stock; {seconds:.2f} s"
    )
    print(
        f"RESULT name=oversell buyers={args.buyers} keys={args.keys} sold={sold} "
        f"doubled={doubled} errors={len(errors)} partial={partial} refused={refused} "
        f"refused_in_stock={refused_in_stock} seconds={seconds:.2f}"
        + (" allocator=naive" if args.naive else "")
    )
    bad = sold > args.keys or doubled or errors or partial or refused_in_stock
    bad = bad or (not args.mixed and sold != min(args.keys, args.buyers))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
