#!/usr/bin/env python
"""Benchmark: every customer page and the admin lists beside a bare Django view.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/keystore_bench .venv/bin/python bench/pages.py

Seeds (bulk_create in big chunks; a second run reuses what is there) --products products
(each with a batch and a few keys in stock), --orders delivered orders for the admin
lists (one line, one delivered key and one claim each), and a customer with
--customer-orders delivered orders (real encrypted keys) and claims on some of them.

1. Query counts, with Django's test client and CaptureQueriesContext, of each page at the
   small size (100 products, 100 orders, claims and keys, a customer with 30 orders; in
   the database ``<name>_small`` beside DATABASE_URL's) and at the full size: they must
   be equal (the bench exits 1 otherwise).
2. gunicorn (--workers workers, gthread, DEBUG off, the cached template loader, whitenoise,
   the Redis cache when REDIS_URL is set, persistent connections) on bench settings that
   add one bare view (`/bench-bare/`, bench/pages_urls.py; the shop's own URLs have none).
   For each page: the median of 9 requests one after the other (``ms``: what one visitor
   or member of staff waits, no queueing), then wrk (--connections) drives the bare view
   and the page in turn, --seconds each, --rounds times (so both see the same share of a
   machine whose other load changes); ``rps`` and ``bare_rps`` are the means over the
   rounds. A page slower than 2 s a request is not put under wrk (its rate is 1000/ms).
   The catalog's caches are measured both ways: a server with the shop's settings (whole
   page cached for visitors without a session, the grid for everyone) and a server with
   CATALOG_GRID_CACHE_SECONDS=0 for the cold case, where a wrk script also rotates the
   page number, category and platform on every request.

3. The floors, on the cold server, the same way (``--no-floors`` skips them): the bare view
   plus one ORM read by primary key (``query``), the bare view rendering ``base.html``
   with nothing in it (``page``), the bare view for the signed-in customer
   (``signed_in``), and both (``page_signed_in``). Their ratios are ceilings: no page that
   queries, renders the shop's layout or is signed in can come nearer the bare view.

One line per page and floor, then a summary as the last line:

    RESULT name=pages page=<page> rps=... bare_rps=... ratio=... p99_ms=... ms=...
           queries=... queries_small=... failures=...
    RESULT name=pages floor=<floor> rps=... bare_rps=... ratio=... p99_ms=... failures=...
    RESULT name=pages pages=... min_ratio=... below_half=... constant_queries=yes|no
           failures=... products=... orders=... customer_orders=... ceiling_query=...
           ceiling_page=... ceiling_signed_in=... ceiling_page_signed_in=...

Needs `wrk` (apt-get install wrk).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from decimal import Decimal

from common import ROOT, django_ready, free_port, small_size_counts  # noqa: E402 (sets up sys.path)

SKU = "PG-"
CUSTOMER_EMAIL = "pages-customer@bench.invalid"
STAFF_EMAIL = "pages-staff@bench.invalid"
CATEGORIES = ["antivirus", "office", "games", "vpn", "utilities"]
PLATFORMS = ["windows", "macos", "steam", "multi"]
CHUNK = 5000
SMALL = {"products": 100, "orders": 100, "customer_orders": 30}


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- seeding ----------------------------------------------------------------------------


def preset_ensure() -> None:
    import io

    from django.core.management import call_command

    from policies.models import PolicyPreset

    if not PolicyPreset.objects.filter(is_active=True).exists():
        call_command("load_policy_preset", "allkeymasters", "--activate", stdout=io.StringIO())


def products_seed(*, count: int) -> None:
    """``count`` products over five categories, each with one batch and three keys."""
    from django.utils import timezone

    from catalog.models import Category, Product
    from keys.models import Key, KeyBatch, Supplier

    categories = []
    for position, slug in enumerate(CATEGORIES):
        category, _ = Category.objects.get_or_create(
            slug=f"pages-{slug}", defaults={"name": f"Bench {slug}", "position": position}
        )
        categories.append(category)
    have = Product.objects.filter(sku__startswith=SKU).count()
    if have >= count:
        return
    Product.objects.bulk_create(
        (
            Product(
                category=categories[i % len(categories)],
                name=f"Bench product {i:05d}",
                slug=f"pg-product-{i:05d}",
                sku=f"{SKU}{i:05d}",
                edition="Standard",
                platform=PLATFORMS[i % len(PLATFORMS)],
                price=Decimal("9.90") + i % 40,
                currency="EUR",
                description=f"Bench product number {i}.",
                low_stock_threshold=2,
            )  # fmt: skip
            for i in range(have, count)
        ),
        batch_size=CHUNK,
    )
    supplier, _ = Supplier.objects.get_or_create(name="Pages bench supplier")
    new = list(Product.objects.filter(sku__startswith=SKU, key_batches__isnull=True))
    for chunk in _chunks(new):
        batches = KeyBatch.objects.bulk_create(
            KeyBatch(supplier=supplier, product=p, cost_per_key=Decimal("1.00")) for p in chunk
        )
        now = timezone.now()
        Key.objects.bulk_create(
            Key(
                product_id=b.product_id,
                batch=b,
                status="available",
                ciphertext="bench",
                fingerprint=f"pgstock{b.product_id:010d}{k}".ljust(64, "0"),
                last4=f"{k:04d}",
                status_changed_at=now,
            )  # fmt: skip
            for b in batches
            for k in range(3)
        )


def popular_seed(*, batches: int = 20, per_batch: int = 250) -> None:
    """The product page's product is a popular one: ``batches`` batches of ``per_batch``
    available keys (a stock count that reads every key is slow here, not on the others)."""
    from django.utils import timezone

    from catalog.models import Product
    from keys.models import Key, KeyBatch, Supplier

    product = Product.objects.filter(sku__startswith=SKU).order_by("pk")[5]
    if KeyBatch.objects.filter(product=product, reference="pages-popular").exists():
        return
    supplier, _ = Supplier.objects.get_or_create(name="Pages bench supplier")
    now = timezone.now()
    for b in range(batches):
        batch = KeyBatch.objects.create(supplier=supplier, product=product,
                                        cost_per_key=Decimal("1.00"), reference="pages-popular")  # fmt: skip
        Key.objects.bulk_create(
            Key(
                product=product,
                batch=batch,
                status="available",
                ciphertext="bench",
                fingerprint=f"pgpop{batch.pk:010d}{k:05d}".ljust(64, "0"),
                last4=f"{k:04d}",
                status_changed_at=now,
            )  # fmt: skip
            for k in range(per_batch)
        )


def admin_rows_seed(*, count: int) -> None:
    """``count`` delivered guest orders, each with a line, a delivered key and a claim.

    Keys come from 200 batches (spread over the products) so the key list's batch filter
    has many choices; claims are mostly decided, every tenth one open (the desk's work).
    """
    from django.utils import timezone

    from catalog.models import Product
    from keys.models import Key, KeyBatch, Supplier
    from orders.models import Order, OrderLine, order_number_new
    from refunds.models import Claim

    have = Order.objects.filter(email__startswith="pages-admin-").count()
    if have >= count:
        return
    products = list(Product.objects.filter(sku__startswith=SKU).order_by("pk")[:200])
    supplier, _ = Supplier.objects.get_or_create(name="Pages bench supplier")
    batches = list(KeyBatch.objects.filter(reference="pages-admin").order_by("pk"))
    if not batches:
        batches = KeyBatch.objects.bulk_create(
            KeyBatch(
                supplier=supplier, product=p, cost_per_key=Decimal("1.00"), reference="pages-admin"
            )  # fmt: skip
            for p in products
        )
    reasons = ["key_invalid", "key_already_used", "activation_problem"]
    for start in range(have, count, CHUNK):
        now = timezone.now()
        idx = range(start, min(count, start + CHUNK))
        orders = Order.objects.bulk_create(
            Order(
                number=order_number_new(),
                email=f"pages-admin-{i}@bench.invalid",
                billing_name="Bench",
                status="delivered",
                currency="EUR",
                total=Decimal("19.90"),
                subtotal=Decimal("19.90"),
                net_total=Decimal("19.90"),
                policy_preset="allkeymasters",
                paid_at=now,
                delivered_at=now,
            )  # fmt: skip
            for i in idx
        )
        lines = OrderLine.objects.bulk_create(
            OrderLine(
                order=o,
                product=batches[i % len(batches)].product,
                quantity=1,
                product_name=f"Bench product {i % len(batches):05d}",
                unit_price=Decimal("19.90"),
                line_total=Decimal("19.90"),
                net_amount=Decimal("19.90"),
            )  # fmt: skip
            for i, o in zip(idx, orders, strict=True)
        )
        keys = Key.objects.bulk_create(
            Key(
                product_id=batches[i % len(batches)].product_id,
                batch=batches[i % len(batches)],
                status="delivered",
                ciphertext="bench",
                fingerprint=f"pgadmin{i:012d}".ljust(64, "0"),
                last4=f"{i % 10000:04d}",
                order_line=line,
                delivered_at=now,
                status_changed_at=now,
            )  # fmt: skip
            for i, line in zip(idx, lines, strict=True)
        )
        Claim.objects.bulk_create(
            Claim(
                order=o,
                order_line=line,
                key=key,
                guest_email=o.email,
                reason=reasons[i % 3],
                description="bench",
                preset_slug="allkeymasters",
                status="submitted" if i % 10 == 0 else "rejected",
                verification_due_at=now if i % 10 == 0 else None,
            )  # fmt: skip
            for i, o, line, key in zip(idx, orders, lines, keys, strict=True)
        )


def customer_seed(*, orders: int):
    """The customer (verified email) with ``orders`` delivered orders, real encrypted keys,
    and a claim on every fifth order."""
    from allauth.account.models import EmailAddress
    from django.utils import timezone

    from accounts.models import User
    from catalog.models import Product
    from keys.crypto import code_digest, code_encryptor, code_last4
    from keys.models import Key, KeyBatch, Supplier
    from orders.models import Order, OrderLine, order_number_new
    from refunds.models import Claim

    user = User.objects.filter(email=CUSTOMER_EMAIL).first()
    if user is None:
        user = User.objects.create_user(email=CUSTOMER_EMAIL, password="bench-password-1")
        EmailAddress.objects.create(user=user, email=CUSTOMER_EMAIL, verified=True, primary=True)
    have = Order.objects.filter(user=user).count()
    if have >= orders:
        return user
    product = Product.objects.filter(sku__startswith=SKU).order_by("pk").first()
    supplier, _ = Supplier.objects.get_or_create(name="Pages bench supplier")
    batch, _ = KeyBatch.objects.get_or_create(
        reference="pages-customer",
        defaults={"supplier": supplier, "product": product, "cost_per_key": Decimal("1.00")},
    )
    encrypt = code_encryptor()
    now = timezone.now()
    idx = range(have, orders)
    made = Order.objects.bulk_create(
        Order(
            number=order_number_new(),
            user=user,
            email=CUSTOMER_EMAIL,
            billing_name="Bench",
            status="delivered",
            currency="EUR",
            total=Decimal("9.90"),
            subtotal=Decimal("9.90"),
            net_total=Decimal("9.90"),
            policy_preset="allkeymasters",
            paid_at=now,
            delivered_at=now,
        )  # fmt: skip
        for _ in idx
    )
    lines = OrderLine.objects.bulk_create(
        OrderLine(
            order=o,
            product=product,
            quantity=1,
            product_name=product.name,
            unit_price=Decimal("9.90"),
            line_total=Decimal("9.90"),
            net_amount=Decimal("9.90"),
        )  # fmt: skip
        for o in made
    )
    keys = []
    for i, line in zip(idx, lines, strict=True):
        code = f"PGCUS-{i:05d}-{user.pk:05d}-ABCDE-FGHJK"
        fingerprint, _ = code_digest(code)
        keys.append(
            Key(
                product=product,
                batch=batch,
                status="delivered",
                ciphertext=encrypt(code),
                fingerprint=fingerprint,
                last4=code_last4(code),
                order_line=line,
                delivered_at=now,
                status_changed_at=now,
            )  # fmt: skip
        )
    keys = Key.objects.bulk_create(keys)
    Claim.objects.bulk_create(
        Claim(
            order=o,
            order_line=line,
            key=key,
            user=user,
            reason="key_invalid",
            description="bench",
            preset_slug="allkeymasters",
            status="rejected",
        )  # fmt: skip
        for i, o, line, key in zip(idx, made, lines, keys, strict=True)
        if i % 5 == 0
    )
    return user


def staff_ensure():
    from accounts.models import User

    user = User.objects.filter(email=STAFF_EMAIL).first()
    if user is None:
        user = User.objects.create_user(
            email=STAFF_EMAIL, password="bench-password-1", is_staff=True, is_superuser=True
        )
    return user


def seed(*, products: int, orders: int, customer_orders: int) -> None:
    from django.db import connection

    preset_ensure()
    products_seed(count=products)
    popular_seed()
    admin_rows_seed(count=orders)
    customer_seed(orders=customer_orders)
    staff_ensure()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# --- what is measured -------------------------------------------------------------------


def pages_get() -> dict[str, dict]:
    """Each page: its address and who asks (``visitor``, ``session``, ``customer``,
    ``staff``)."""
    from catalog.models import Product
    from orders.models import Order

    product = Product.objects.filter(sku__startswith=SKU).order_by("pk")[5]
    order = Order.objects.filter(email=CUSTOMER_EMAIL).order_by("-created_at").first()
    return {
        "catalog_visitor": {"path": "/", "as": "visitor"},
        "catalog_session": {"path": "/", "as": "session"},
        "catalog_cold": {"path": "/?page=3&platform=windows", "as": "visitor", "cold": True},
        "catalog_cold_session": {
            "path": "/?page=2&category=pages-office",
            "as": "session",
            "cold": True,
        },  # fmt: skip
        "product": {"path": f"/products/{product.slug}/", "as": "visitor", "cold": True},
        "cart": {"path": "/cart/", "as": "session", "cold": True},
        "account": {"path": "/account/", "as": "customer", "cold": True},
        "order": {"path": f"/orders/o/{order.number}/", "as": "customer", "cold": True},
        "tracking": {"path": "/orders/track/", "as": "visitor", "cold": True},
        "admin_orders": {"path": "/admin/orders/order/", "as": "staff", "cold": True},
        "admin_claims": {"path": "/admin/refunds/claim/", "as": "staff", "cold": True},
        "admin_keys": {"path": "/admin/keys/key/", "as": "staff", "cold": True},
        "admin_batches": {"path": "/admin/keys/keybatch/", "as": "staff", "cold": True},
    }


# How near the bare view a page of the shop can come on this machine, whatever its own code
# does (bench/pages_urls.py): one ORM read by primary key; base.html with nothing in it;
# the bare view for the signed-in customer (session and user row); both.
FLOORS = {
    "query": {"path": "/bench-floor/query/", "as": "visitor"},
    "page": {"path": "/bench-floor/page/", "as": "visitor"},
    "signed_in": {"path": "/bench-bare/", "as": "customer"},
    "page_signed_in": {"path": "/bench-floor/page/", "as": "customer"},
}


def clients_get(*, staff: bool = True) -> dict:
    """A Django test client per role: a visitor, one with an item in the cart, the
    signed-in customer and (``staff``) a signed-in manager (sessions stored in the
    database, so the same cookies work against gunicorn)."""
    from django.test import Client

    from accounts.models import User
    from catalog.models import Product
    from tests.staff import staff_login

    session = Client()
    product = Product.objects.filter(sku__startswith=SKU).order_by("pk")[7]
    response = session.post(f"/products/{product.slug}/add/", {"quantity": 1})
    assert response.status_code == 302, response.status_code
    session.get("/cart/")  # consume the "in your cart" message
    customer = Client()
    customer.force_login(User.objects.get(email=CUSTOMER_EMAIL))
    clients = {"visitor": Client(), "session": session, "customer": customer}
    if staff:
        clients["staff"] = staff_login(client=Client(), user=User.objects.get(email=STAFF_EMAIL))
    return clients


def queries_count() -> dict[str, int]:
    """Queries of one request to each page (after one request to warm caches and
    imports), counted by a database execute wrapper: Django's query log keeps 9,000."""
    from django.db import connection
    from django.test.utils import override_settings

    clients = clients_get()
    counts = {}
    for name, page in pages_get().items():
        client = clients[page["as"]]
        seen = []

        def counter(execute, sql, params, many, context, seen=seen):
            seen.append(sql)
            return execute(sql, params, many, context)

        with override_settings(CATALOG_GRID_CACHE_SECONDS=0):  # count the real rendering
            client.get(page["path"])
            with connection.execute_wrapper(counter):
                response = client.get(page["path"])
        assert response.status_code == 200, (name, response.status_code)
        counts[name] = len(seen)
    return counts


def sizes_get() -> dict[str, int]:
    from catalog.models import Product
    from orders.models import Order

    return {
        "products": Product.objects.filter(sku__startswith=SKU).count(),
        "orders": Order.objects.filter(email__startswith="pages-admin-").count(),
        "customer_orders": Order.objects.filter(email=CUSTOMER_EMAIL).count(),
    }


# --- load -------------------------------------------------------------------------------

ROTATE_LUA = """
local counter = 0
local id = 0
local categories = {"", "pages-antivirus", "pages-office", "pages-games", "pages-vpn"}
local platforms = {"", "windows", "macos", "steam"}
function setup(thread)
  thread:set("id", id)
  id = id + 1
end
function init(args)
  counter = 0
end
function request()
  counter = counter + 1
  local n = counter * 7 + id * 1009
  local path = "/?page=" .. (n % 80 + 1) .. "&category=" .. categories[n % 5 + 1]
    .. "&platform=" .. platforms[math.floor(n / 5) % 4 + 1]
  return wrk.format("GET", path)
end
"""


def wrk_run(*, port: int, path: str, cookie: str, seconds: float, connections: int,
            script: str = "") -> tuple[float, float, int]:  # fmt: skip
    """Requests per second, p99 latency (ms) and failures (non-2xx/3xx answers, socket
    errors and timeouts) of ``path``; a page slower than the 10 s timeout counts only the
    answers that arrived."""
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{max(1, round(seconds))}s", "--latency",
               "--timeout", "10s"]  # fmt: skip
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    if script:
        command += ["-s", script]
    out = subprocess.run(
        [*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
    ).stdout
    failures = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket:
        failures += sum(int(n) for n in socket.groups())
    done = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    if not done or latency is None:
        return rps, float("inf"), failures
    value, unit = latency.groups()
    return rps, float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], failures


def rounds_run(*, port: int, path: str, cookie: str, seconds: float, connections: int,
               rounds: int, script: str = "") -> tuple[float, float, float, int]:  # fmt: skip
    """The bare view and the page in turn, ``rounds`` times, so that both see the same
    share of a machine whose other load changes: the page's and the bare view's rates
    summed over the rounds, the page's worst p99, and its failures."""
    page_rps = bare_rps = p99 = 0.0
    failures = 0
    for _ in range(rounds):
        bare_rps += wrk_run(port=port, path="/bench-bare/", cookie="", seconds=seconds,
                            connections=connections)[0]  # fmt: skip
        rps, round_p99, round_failures = wrk_run(port=port, path=path, cookie=cookie,
                                                 seconds=seconds, connections=connections,
                                                 script=script)  # fmt: skip
        page_rps += rps
        p99 = max(p99, round_p99)
        failures += round_failures
    return page_rps / rounds, bare_rps / rounds, p99, failures


def single_times(*, port: int, path: str, cookie: str, runs: int = 9) -> list[float]:
    """Milliseconds of ``runs`` requests one after the other (no queueing): what one
    member of staff waits for the page. Stops after 3 when a page takes over 2 s."""
    times: list[float] = []
    for _ in range(runs):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", headers={"Cookie": cookie} if cookie else {}
        )
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=600) as response:
            response.read()
        times.append((time.perf_counter() - started) * 1000)
        if len(times) >= 3 and statistics.median(times) > 2000:
            break
    return times


def cookie_of(client) -> str:
    from django.conf import settings

    morsel = client.cookies.get(settings.SESSION_COOKIE_NAME)
    return f"{settings.SESSION_COOKIE_NAME}={morsel.value}" if morsel else ""


def server_start(*, database_url: str, workers: int, extra_env: dict) -> tuple:
    port = free_port()
    env = {
        **os.environ,
        "KEYSTORE_ENV": "test",
        "DEBUG": "false",
        "DATABASE_URL": database_url,
        "DB_CONN_MAX_AGE": "60",
        "DJANGO_SETTINGS_MODULE": "bench.pages_settings",
        **extra_env,
    }
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{port}",
         "-w", str(workers), "-k", "gthread", "--threads", "4", "--keep-alive", "30",
         "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/bench-bare/", timeout=2):
                return server, port
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def small_counts(*, database_url: str) -> dict[str, int]:
    """The query counts at the small size, measured in ``<name>_small`` by a child process."""
    return small_size_counts(
        database_url=database_url,
        script=__file__,
        args=["--products", str(SMALL["products"]), "--orders", str(SMALL["orders"]),
              "--customer-orders", str(SMALL["customer_orders"])],
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--customer-orders", type=int, default=250)
    parser.add_argument("--seconds", type=float, default=3.0, help="per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="bare view, page: this many times")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pages", default="", help="comma-separated subset of pages to load")
    parser.add_argument("--no-counts", action="store_true", help="skip the query counts")
    parser.add_argument("--no-floors", action="store_true", help="skip the floors")
    parser.add_argument("--count-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    database_url = django_ready()
    started = time.perf_counter()
    seed(products=args.products, orders=args.orders, customer_orders=args.customer_orders)
    seed_s = time.perf_counter() - started
    if args.count_only:
        print(json.dumps(queries_count()))
        return
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    sizes = sizes_get()
    print(f"seeded in {seed_s:.1f} s: {sizes}", flush=True)
    if args.no_counts:  # e.g. to repeat the load part only
        counts = small = dict.fromkeys(pages_get(), -1)
    else:
        small = small_counts(database_url=database_url)
        counts = queries_count()
    grows = {name: (small[name], n) for name, n in counts.items() if small[name] != n}
    print(f"queries at the small size {small}\nqueries at the full size {counts}", flush=True)

    clients = clients_get()
    cookies = {role: cookie_of(client) for role, client in clients.items()}
    pages = pages_get()
    wanted = [p for p in args.pages.split(",") if p] or list(pages)
    results = {}
    floors: dict[str, float] = {}
    failed = 0
    rotate = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115
    rotate.write(ROTATE_LUA)
    rotate.close()
    try:
        for cold in (False, True):
            todo = [n for n in wanted if bool(pages[n].get("cold")) == cold]
            if not todo:
                continue
            extra = {"CATALOG_GRID_CACHE_SECONDS": "0"} if cold else {}
            server, port = server_start(
                database_url=database_url, workers=args.workers, extra_env=extra
            )
            try:
                for name in todo:  # warm every worker: imports, template and connection
                    page = pages[name]
                    for _ in range(2 * args.workers):
                        took = single_times(port=port, path=page["path"],
                                            cookie=cookies[page["as"]], runs=1)  # fmt: skip
                        if took[0] > 2000:
                            break
                for name in todo:
                    page = pages[name]
                    alone = single_times(port=port, path=page["path"], cookie=cookies[page["as"]])
                    alone_ms = statistics.median(alone)
                    if alone_ms > 2000:  # wrk's 10 s timeout would only count failures
                        bare_rps = wrk_run(port=port, path="/bench-bare/", cookie="",
                                           seconds=args.seconds,
                                           connections=args.connections)[0]  # fmt: skip
                        rps, p99, failures = 1000 / alone_ms, max(alone), 0
                    else:
                        rps, bare_rps, p99, failures = rounds_run(
                            port=port, path=page["path"], cookie=cookies[page["as"]],
                            seconds=args.seconds, connections=args.connections,
                            rounds=args.rounds,
                            script=rotate.name if name == "catalog_cold" else "",
                        )  # fmt: skip
                    results[name] = (rps, bare_rps, p99)
                    failed += failures
                    ratio = rps / bare_rps if bare_rps else 0.0
                    print(
                        f"RESULT name=pages page={name} rps={rps:.1f} bare_rps={bare_rps:.0f} "
                        f"ratio={ratio:.3f} p99_ms={p99:.0f} ms={alone_ms:.1f} "
                        f"queries={counts[name]} queries_small={small[name]} failures={failures}",
                        flush=True,
                    )
                if cold and not args.no_floors:
                    for name, floor in FLOORS.items():
                        rps, bare_rps, p99, failures = rounds_run(
                            port=port, path=floor["path"], cookie=cookies[floor["as"]],
                            seconds=args.seconds, connections=args.connections,
                            rounds=args.rounds, script="",
                        )  # fmt: skip
                        floors[name] = rps / bare_rps if bare_rps else 0.0
                        failed += failures
                        print(
                            f"RESULT name=pages floor={name} rps={rps:.1f} "
                            f"bare_rps={bare_rps:.0f} ratio={floors[name]:.3f} "
                            f"p99_ms={p99:.0f} failures={failures}",
                            flush=True,
                        )
            finally:
                server.terminate()
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
    finally:
        os.unlink(rotate.name)
    if grows:
        print(f"query counts grow with the data: {grows}")
    ratios = {name: rps / bare if bare else 0.0 for name, (rps, bare, _p99) in results.items()}
    below = sorted(name for name, ratio in ratios.items() if ratio < 0.5)
    print(
        f"RESULT name=pages pages={len(results)} min_ratio={min(ratios.values()):.3f} "
        f"below_half={','.join(below) or 'none'} constant_queries={'no' if grows else 'yes'} "
        f"failures={failed} "
        f"products={sizes['products']} orders={sizes['orders']} "
        f"customer_orders={sizes['customer_orders']}"
        + "".join(f" ceiling_{name}={ratio:.3f}" for name, ratio in floors.items())
    )
    if grows or failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
