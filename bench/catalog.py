#!/usr/bin/env python
"""Benchmark: catalog and product pages against a bare Django view on the same server.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/keystore_bench .venv/bin/python bench/catalog.py

Creates and migrates the database if needed, loads the demo catalog plus --products extra
products (with keys in stock), and counts the queries of the catalog and product pages at
the demo size and at the full size (they must be equal: a fixed number whatever the
catalog size). Then it serves the app with gunicorn and drives it with --clients
keep-alive client threads for --seconds per page: `/healthz` (a bare Django view, no
database), the catalog `/` and one product page. Ends with one line:

    RESULT products=... catalog_queries=... product_queries=... bare_rps=... catalog_rps=...
           product_rps=... catalog_ratio=... product_ratio=... catalog_p99_ms=... product_p99_ms=...

catalog_ratio = catalog_rps / bare_rps (goal: at least 0.5), the same for product pages.
The load generator runs on the same 2 cores as the server, so the ratios are what to
compare between runs, not the absolute rates.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import threading
import time

from common import ROOT, django_ready, free_port  # noqa: E402 (sets up sys.path)


def catalog_seed(*, extra: int) -> str:
    """The demo catalog plus ``extra`` products, each with a few keys; returns a product slug."""
    import io
    from decimal import Decimal

    from django.core.management import call_command

    from catalog.models import Category, Product
    from tests.factories import keys_create

    call_command("seed_demo", keys_per_product=3, stdout=io.StringIO())
    category = Category.objects.get(slug="antivirus")
    have = Product.objects.filter(sku__startswith="BENCH-").count()
    for i in range(have, extra):
        product = Product.objects.create(
            category=category, name=f"Bench Antivirus {i:04d}", slug=f"bench-antivirus-{i:04d}",
            sku=f"BENCH-{i:04d}", platform="windows", edition="Premium",
            price=Decimal("9.90"), currency="EUR",
        )  # fmt: skip
        keys_create(product=product, count=2)
    return "windows-11-pro"


def queries_count(path: str) -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    client = Client()
    with override_settings(CATALOG_GRID_CACHE_SECONDS=0):  # count the real rendering
        client.get(path)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).status_code == 200, path
    return len(captured)


def load(*, port: int, path: str, clients: int, seconds: float) -> tuple[float, float]:
    """Requests per second and p99 latency (ms) of ``path`` under ``clients`` threads."""
    latencies: list[float] = []
    errors = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine = []
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            conn.request("GET", path, headers={"Connection": "keep-alive"})
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                errors.append(response.status)
            mine.append(time.perf_counter() - start)
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise SystemExit(f"{path}: {len(errors)} non-200 answers, e.g. {errors[0]}")
    p99 = statistics.quantiles(latencies, n=100)[98] * 1000 if len(latencies) > 100 else 0.0
    return len(latencies) / elapsed, p99


def wait_http(port: int, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--products", type=int, default=300, help="extra products to add")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    database_url = django_ready()

    from catalog.models import Product

    slug = catalog_seed(extra=0)
    small_catalog = queries_count("/")
    catalog_seed(extra=args.products)
    products = Product.objects.filter(is_active=True).count()
    catalog_queries = queries_count("/")
    product_queries = queries_count(f"/products/{slug}/")
    print(f"queries: catalog {small_catalog} at 12 products, {catalog_queries} at {products}; "
          f"product page {product_queries}")  # fmt: skip
    if small_catalog != catalog_queries:
        raise SystemExit("the catalog's query count grows with the catalog")

    port = free_port()
    # production-like: persistent database connections
    env = {
        **os.environ,
        "KEYSTORE_ENV": "test",
        "DATABASE_URL": database_url,
        "DB_CONN_MAX_AGE": "60",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{port}",
         "-w", str(args.workers), "-k", "gthread", "--threads", "4", "--keep-alive", "30",
         "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        wait_http(port, timeout=30)
        load(port=port, path="/", clients=2, seconds=1.0)  # warm up every worker
        bare_rps, _ = load(port=port, path="/healthz", clients=args.clients, seconds=args.seconds)
        catalog_rps, catalog_p99 = load(
            port=port, path="/", clients=args.clients, seconds=args.seconds
        )
        product_rps, product_p99 = load(
            port=port, path=f"/products/{slug}/", clients=args.clients, seconds=args.seconds
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"bare view {bare_rps:.0f} req/s; catalog {catalog_rps:.0f} req/s "
          f"(p99 {catalog_p99:.0f} ms); product page {product_rps:.0f} req/s "
          f"(p99 {product_p99:.0f} ms)")  # fmt: skip
    print(
        f"RESULT products={products} catalog_queries={catalog_queries} "
        f"product_queries={product_queries} bare_rps={bare_rps:.0f} "
        f"catalog_rps={catalog_rps:.0f} product_rps={product_rps:.0f} "
        f"catalog_ratio={catalog_rps / bare_rps:.2f} product_ratio={product_rps / bare_rps:.2f} "
        f"catalog_p99_ms={catalog_p99:.0f} product_p99_ms={product_p99:.0f}"
    )


if __name__ == "__main__":
    main()
