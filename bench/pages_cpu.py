#!/usr/bin/env python
"""Benchmark: CPU per request of every customer page beside a bare Django view, in process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/keystore_bench \\
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/pages_cpu.py [--requests 60]

No HTTP server and no load generator: each page is requested through Django's test client
(the whole middleware stack, DEBUG off, the cached template loader, the settings of
bench/pages_settings.py, the Redis cache when REDIS_URL is set) and the process CPU time
(``time.process_time``) of --requests requests is divided by their number. The bare view
(``/bench-bare/``) is measured the same way in between, --rounds times, so both see the
same machine; a loaded machine slows both alike, which is why the ratio is the figure to
compare (``ratio = bare_cpu / page_cpu``: the share of the bare view's rate a server with
only CPU to spend would reach on that page). CPU spent in PostgreSQL and Redis is not in
it (their round trips are, on the client side).

Seeds a small data set with bench/pages.py's helpers (--products products, a customer
with --customer-orders orders, a claim on every fifth). Pages: the catalog for a visitor
without a session (whole page cached) and with one (grid cached), the catalog with
filters and a cold grid cache (CATALOG_GRID_CACHE_SECONDS=0) for both, a product page, the
cart with an item, My Account, an order page, the tracking form and the claim list.

    RESULT name=pages_cpu page=<page> page_ms=... bare_ms=... ratio=... queries=...
    RESULT name=pages_cpu floor=<floor> page_ms=... bare_ms=... ratio=... queries=...
    RESULT name=pages_cpu pages=... min_ratio=... below_half=... bare_ms=... ceiling_query=...

The floors (bench/pages_urls.py) say how near the bare view a page of the shop can come
on this machine whatever its own code does: ``query`` is the bare view plus one ORM read
by primary key, ``page`` the bare view rendering ``base.html`` with nothing in it,
``signed_in`` the bare view itself for the signed-in customer (the session and the user
row), ``page_signed_in`` both. A page that queries cannot pass ``ceiling_query``, a page
of the shop cannot pass ``ceiling_page``, a signed-in page cannot pass
``ceiling_signed_in``.

``--profile PAGE`` (a page or a floor) prints a cProfile of its requests instead (sorted by
cumulative time, --top rows).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.pages_settings")
os.environ["DEBUG"] = "false"
os.environ.setdefault("DB_CONN_MAX_AGE", "60")

from common import django_ready  # noqa: E402 (sets up sys.path)
from pages import (  # noqa: E402
    FLOORS,
    clients_get,
    customer_seed,
    popular_seed,
    preset_ensure,
    products_seed,
)
from pages import pages_get as pages_all_get


def pages_get() -> dict[str, dict]:
    """bench/pages.py's customer pages (not the admin lists), the catalog's caches off only
    for the cold catalog lines, plus the claim list."""
    pages = {
        name: {**page, "cold": name.startswith("catalog_cold")}
        for name, page in pages_all_get().items()
        if page["as"] != "staff"
    }
    pages["claims"] = {"path": "/claims/", "as": "customer"}
    return pages


def cpu_ms(*, client, path: str, requests: int) -> float:
    """CPU milliseconds per request of ``requests`` GETs of ``path``."""
    started = time.process_time()
    for _ in range(requests):
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code}")
    return (time.process_time() - started) * 1000 / requests


def queries_of(*, client, path: str) -> int:
    from django.db import connection

    seen: list[str] = []

    def counter(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        client.get(path)
    return len(seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--customer-orders", type=int, default=250)
    parser.add_argument("--requests", type=int, default=40, help="per page and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pages", default="", help="comma-separated subset")
    parser.add_argument("--profile", default="", help="profile this page instead")
    parser.add_argument("--no-floors", action="store_true", help="skip the floors")
    parser.add_argument("--top", type=int, default=45)
    args = parser.parse_args()

    django_ready()
    from django.conf import settings
    from django.test.utils import override_settings

    assert not settings.DEBUG
    preset_ensure()
    products_seed(count=args.products)
    popular_seed(batches=4, per_batch=50)
    customer_seed(orders=args.customer_orders)

    clients = clients_get(staff=False)
    pages = pages_get()
    bare = clients["visitor"]
    if args.profile:
        page = pages.get(args.profile) or FLOORS[args.profile]
        with override_settings(CATALOG_GRID_CACHE_SECONDS=0 if page.get("cold") else 10):
            cpu_ms(client=clients[page["as"]], path=page["path"], requests=5)
            profiler = cProfile.Profile()
            profiler.enable()
            cpu_ms(client=clients[page["as"]], path=page["path"], requests=args.requests)
            profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.top)
        return

    wanted = [p for p in args.pages.split(",") if p] or list(pages)
    measured = [(name, pages[name], "page") for name in wanted]
    if not args.no_floors:
        measured += [(name, floor, "floor") for name, floor in FLOORS.items()]
    results: dict[str, tuple[float, float, int]] = {}
    floors: dict[str, float] = {}
    bare_all: list[float] = []
    for name, page, kind in measured:
        client = clients[page["as"]]
        seconds = 0 if page.get("cold") else settings.CATALOG_GRID_CACHE_SECONDS
        with override_settings(CATALOG_GRID_CACHE_SECONDS=seconds):
            cpu_ms(client=client, path=page["path"], requests=3)  # warm caches and imports
            queries = queries_of(client=client, path=page["path"])
            page_runs, bare_runs = [], []
            for _ in range(args.rounds):
                bare_runs.append(cpu_ms(client=bare, path="/bench-bare/", requests=args.requests))
                page_runs.append(cpu_ms(client=client, path=page["path"], requests=args.requests))
        page_ms, bare_ms = statistics.median(page_runs), statistics.median(bare_runs)
        bare_all += bare_runs
        if kind == "floor":
            floors[name] = bare_ms / page_ms
        else:
            results[name] = (page_ms, bare_ms, queries)
        print(
            f"RESULT name=pages_cpu {kind}={name} page_ms={page_ms:.2f} bare_ms={bare_ms:.3f} "
            f"ratio={bare_ms / page_ms:.3f} queries={queries}",
            flush=True,
        )
    ratios = {name: bare_ms / page_ms for name, (page_ms, bare_ms, _q) in results.items()}
    below = sorted(name for name, ratio in ratios.items() if ratio < 0.5)
    print(
        f"RESULT name=pages_cpu pages={len(results)} min_ratio={min(ratios.values()):.3f} "
        f"below_half={','.join(below) or 'none'} bare_ms={statistics.median(bare_all):.3f} "
        f"products={args.products} customer_orders={args.customer_orders}"
        + "".join(f" ceiling_{name}={ratio:.3f}" for name, ratio in floors.items())
    )


if __name__ == "__main__":
    main()
