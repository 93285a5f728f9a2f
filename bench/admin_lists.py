#!/usr/bin/env python
"""Benchmark: the staff change lists (orders, claims, keys, key batches) at 100,000 rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/keystore_bench \\
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/admin_lists.py [--requests 15]

Seeds with bench/pages.py's helpers (``products_seed``, ``popular_seed``,
``admin_rows_seed``): --products products each with a batch of three keys, and --rows
delivered guest orders with a line, a delivered key (from 200 batches) and a claim each
(every tenth one open). Seeding runs once (about 5 minutes on a busy 2-core machine); a
later run reuses the rows. The staff member is a signed-in **Manager** (the group of
accounts/migrations/0003_staff_roles.py, not a superuser), signed in as
``tests.staff.staff_login`` does (password and second factor in the session).

1. Query counts, with Django's test client and a database execute wrapper, of one request
   to each list at the small size (100 products, 100 rows, in ``<name>_small`` beside
   DATABASE_URL's, by a child process) and at the full size: they must be equal (exit 1
   otherwise).
2. Time per request, in process through Django's test client on
   ``bench/pages_settings.py`` (DEBUG off, the cached template loader, the Redis cache
   when REDIS_URL is set, persistent connections): after --warmup requests, --requests
   requests one after the other, each timed alone; the medians of process CPU
   (``time.process_time``: this process only, so PostgreSQL's work is not in it), wall
   time (``time.perf_counter``: what a member of staff waits, PostgreSQL included) and the
   wall time spent inside SQL statements (the execute wrapper).

One line per list, then a summary as the last line:

    RESULT name=admin_lists list=<list> rows=... queries=... queries_small=... cpu_ms=...
           wall_ms=... sql_ms=... bytes=...
    RESULT name=admin_lists lists=... max_wall_ms=... over_100ms=... constant_queries=yes|no
           rows=... batches=... load=...

``--slowest N`` prints each list's N slowest statements (one more request). ``--profile LIST`` prints a cProfile of that list's requests instead (cumulative, then
own time; --top rows). ``--lists orders,claims`` measures a subset.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.pages_settings")
os.environ["DEBUG"] = "false"
os.environ.setdefault("DB_CONN_MAX_AGE", "60")

from common import django_ready, small_size_counts  # noqa: E402 (sets up sys.path)
from pages import admin_rows_seed, popular_seed, preset_ensure, products_seed  # noqa: E402

MANAGER_EMAIL = "admin-lists-manager@bench.invalid"
SMALL = {"products": 100, "rows": 100}
LISTS = {
    "orders": "/admin/orders/order/",
    "claims": "/admin/refunds/claim/",
    "keys": "/admin/keys/key/",
    "batches": "/admin/keys/keybatch/",
}


def manager_ensure():
    """A staff member in the Manager group (not a superuser)."""
    from django.contrib.auth.models import Group

    from accounts.models import User

    user = User.objects.filter(email=MANAGER_EMAIL).first()
    if user is None:
        user = User.objects.create_user(
            email=MANAGER_EMAIL, password="bench-password-1", is_staff=True
        )
        user.groups.add(Group.objects.get(name="Manager"))
    return user


def seed(*, products: int, rows: int) -> None:
    from django.db import connection

    preset_ensure()
    products_seed(count=products)
    popular_seed()
    admin_rows_seed(count=rows)
    manager_ensure()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # what autovacuum does to a table that grew


def manager_client():
    from django.test import Client

    from accounts.models import User
    from tests.staff import staff_login

    return staff_login(client=Client(), user=User.objects.get(email=MANAGER_EMAIL))


class SqlTimer:
    """A database execute wrapper: the statements of a request and their wall time."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self.statements: list[tuple[float, str]] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            took = time.perf_counter() - started
            self.seconds += took
            self.count += 1
            self.statements.append((took * 1000, sql))


def request_once(
    *, client, path: str, timer: SqlTimer | None = None
) -> tuple[float, float, float, int, int]:
    """CPU ms, wall ms, SQL ms, queries and bytes of one GET."""
    from django.db import connection

    timer = timer or SqlTimer()
    with connection.execute_wrapper(timer):
        cpu, wall = time.process_time(), time.perf_counter()
        response = client.get(path)
        body = response.content
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if response.status_code != 200:
        raise SystemExit(f"{path}: {response.status_code}")
    return cpu * 1000, wall * 1000, timer.seconds * 1000, timer.count, len(body)


def queries_count(*, lists: dict[str, str]) -> dict[str, int]:
    client = manager_client()
    counts = {}
    for name, path in lists.items():
        request_once(client=client, path=path)  # warm: imports, per-process caches
        counts[name] = request_once(client=client, path=path)[3]
    return counts


def small_counts(*, database_url: str, lists: str) -> dict[str, int]:
    """The query counts at the small size, measured in ``<name>_small`` by a child process."""
    return small_size_counts(
        database_url=database_url,
        script=__file__,
        args=["--products", str(SMALL["products"]), "--rows", str(SMALL["rows"]), "--lists", lists],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=100_000, help="orders, claims and keys")
    parser.add_argument("--requests", type=int, default=15, help="timed requests per list")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--lists", default=",".join(LISTS), help="comma-separated subset")
    parser.add_argument("--no-counts", action="store_true", help="skip the small-size run")
    parser.add_argument("--profile", default="", help="profile this list instead")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--slowest", type=int, default=0, help="print each list's N slowest SQL")
    parser.add_argument("--count-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    database_url = django_ready()
    from django.conf import settings

    assert not settings.DEBUG
    lists = {name: LISTS[name] for name in args.lists.split(",") if name}
    started = time.perf_counter()
    seed(products=args.products, rows=args.rows)
    if args.count_only:
        print(json.dumps(queries_count(lists=lists)))
        return
    from keys.models import KeyBatch
    from orders.models import Order

    rows = Order.objects.filter(email__startswith="pages-admin-").count()
    batches = KeyBatch.objects.count()
    print(f"seeded in {time.perf_counter() - started:.1f} s: {rows} rows, {batches} batches",
          flush=True)  # fmt: skip

    client = manager_client()
    if args.profile:
        path = lists[args.profile]
        for _ in range(args.warmup):
            request_once(client=client, path=path)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.requests):
            client.get(path)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.top)
        return

    small = (
        dict.fromkeys(lists, -1)
        if args.no_counts
        else small_counts(database_url=database_url, lists=args.lists)
    )
    results = {}
    for name, path in lists.items():
        for _ in range(args.warmup):
            request_once(client=client, path=path)
        runs = [request_once(client=client, path=path) for _ in range(args.requests)]
        cpu, wall, sql = (statistics.median(r[i] for r in runs) for i in range(3))
        queries, size = runs[-1][3], runs[-1][4]
        results[name] = (wall, queries)
        if args.slowest:  # one more request, its slowest statements
            timer = SqlTimer()
            request_once(client=client, path=path, timer=timer)
            for took, statement in sorted(timer.statements, reverse=True)[: args.slowest]:
                print(f"  {name}: {took:.1f} ms  {statement[:300]}")
        print(
            f"RESULT name=admin_lists list={name} rows={rows} queries={queries} "
            f"queries_small={small[name]} cpu_ms={cpu:.1f} wall_ms={wall:.1f} sql_ms={sql:.1f} "
            f"bytes={size}",
            flush=True,
        )
    grows = {n: (small[n], q) for n, (_w, q) in results.items() if small[n] not in (-1, q)}
    if grows:
        print(f"query counts grow with the data: {grows}")
    over = sorted(name for name, (wall, _q) in results.items() if wall >= 100)
    print(
        f"RESULT name=admin_lists lists={len(results)} "
        f"max_wall_ms={max(w for w, _q in results.values()):.1f} "
        f"over_100ms={','.join(over) or 'none'} constant_queries={'no' if grows else 'yes'} "
        f"rows={rows} batches={batches} load={os.getloadavg()[0]:.1f}"
    )
    if grows:
        sys.exit(1)


if __name__ == "__main__":
    main()
