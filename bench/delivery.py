"""Benchmark: paid webhook received -> key email accepted by an SMTP server.

Runs the real stack on this machine:
- gunicorn serving the app (the Stripe webhook endpoint),
- a Celery worker on Redis (delivery: fraud check, key allocation, email),
- PostgreSQL (``DATABASE_URL``; the database is created and migrated if needed),
- a local SMTP server (aiosmtpd, in this process) that timestamps every accepted email,
- a local Stripe API stand-in (in this process) answering the worker's risk lookups.

It seeds a product with keys and N pending orders whose Stripe sessions are paid, then
sends signed ``checkout.session.completed`` webhooks at a steady rate. Latency per order is
measured from the moment the server received its webhook (``WebhookEvent.received_at``,
written by the web process) to the moment the SMTP server accepted its key email.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/keystore_bench \\
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/delivery.py [--rate 20] [--seconds 20]

Last line: ``RESULT orders=... rate=... p50_ms=... p95_ms=... p99_ms=... lost=... duplicates=...``
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import ROOT, database_ensure, free_port  # noqa: E402 (sets up sys.path)

WEBHOOK_SECRET = "whsec_bench_delivery"


def cpu_seconds(root_pids: list[int], *, children: bool = True) -> float:
    """CPU time (user + system) used so far by these processes and their children (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    wanted, total = set(root_pids), 0.0
    changed = children
    while changed:
        changed = False
        for pid, (ppid, _cpu) in stats.items():
            if ppid in wanted and pid not in wanted:
                wanted.add(pid)
                changed = True
    for pid in wanted:
        total += stats.get(pid, (0, 0.0))[1]
    return total


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def wait_http(url: str, timeout: float) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"server at {url} did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=20.0, help="webhooks per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to send")
    parser.add_argument("--warmup", type=int, default=10, help="orders sent first, not timed")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--worker-concurrency", type=int, default=6)
    parser.add_argument("--worker-pool", default="prefork", choices=["prefork", "threads"])
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database_url.startswith("postgres") or not redis_url:
        raise SystemExit("set DATABASE_URL (PostgreSQL) and REDIS_URL, see bench/README.md")
    database_ensure(database_url)

    # The SMTP server and the Stripe stand-in run in their own processes, so that this
    # process (sending webhooks) never slows them down.
    bin_dir = Path(sys.executable).parent
    smtp_port, stripe_port, web_port = free_port(), free_port(), free_port()
    smtp_log = Path(tempfile.mkdtemp(prefix="bench-delivery-")) / "smtp-accepted.log"
    smtp_log.touch()
    helpers = [
        subprocess.Popen(
            [sys.executable, "tests/orders/smtp_sink.py", str(smtp_port), str(smtp_log)],
            cwd=ROOT, stdout=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [sys.executable, "tests/orders/stripe_standin.py", str(stripe_port)],
            cwd=ROOT, stdout=subprocess.DEVNULL,
        ),
    ]  # fmt: skip
    stripe_url = f"http://127.0.0.1:{stripe_port}"
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="storefront.settings",
        KEYSTORE_ENV="test",  # fixed test secrets, shared by every process; nothing in var/
        DEBUG="false",
        DB_CONN_MAX_AGE="60",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_port),
        EMAIL_USE_TLS="false",
        PAYMENT_GATEWAY="stripe",
        STRIPE_SECRET_KEY="sk_test_bench",
        STRIPE_API_BASE=stripe_url,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STAFF_ALERT_EMAILS="staff@bench.invalid",
        LOG_LEVEL="WARNING",
        CACHE_KEY_PREFIX=f"bench-{uuid.uuid4().hex[:8]}",
    )
    os.environ.update(env)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)

    from storefront.celery import app as celery_app

    celery_app.control.purge()

    procs: list[subprocess.Popen] = list(helpers)
    try:
        wait_http(stripe_url + "/", timeout=30)
        total = args.warmup + int(args.rate * args.seconds)
        orders, payloads = seed(total=total, stripe_url=stripe_url)

        procs.append(
            subprocess.Popen(
                [str(bin_dir / "celery"), "-A", "storefront", "worker", "--loglevel", "WARNING", "--pool", args.worker_pool,
                 "--concurrency", str(args.worker_concurrency), "--without-gossip",
                 "--without-mingle", "--hostname", f"bench-{uuid.uuid4().hex[:6]}@%h"],
                cwd=ROOT, env=env,
            )
        )  # fmt: skip
        procs.append(
            subprocess.Popen(
                [str(bin_dir / "gunicorn"), "storefront.wsgi", "-b", f"127.0.0.1:{web_port}",
                 "-w", str(args.web_workers), "-k", "gthread", "--threads", "8", "--keep-alive", "30",
                 "--log-level", "warning"],
                cwd=ROOT, env=env,
            )
        )  # fmt: skip
        base = f"http://127.0.0.1:{web_port}"
        wait_http(base + "/", timeout=30)
        time.sleep(2)  # the worker connects to the broker

        send(base, payloads[: args.warmup], rate=args.rate)
        wait_emails(smtp_log, orders[: args.warmup], timeout=30)
        stack = [p.pid for p in procs]
        cpu_before = cpu_seconds(stack)
        parts_before = [cpu_seconds([p.pid]) for p in procs]
        worker_main_before = cpu_seconds([procs[2].pid], children=False)
        started = time.monotonic()
        sent_seconds = send(base, payloads[args.warmup :], rate=args.rate)
        timed = orders[args.warmup :]
        wait_emails(smtp_log, timed, timeout=60)
        elapsed = time.monotonic() - started
        stack_cpu = cpu_seconds(stack) - cpu_before
        parts = [cpu_seconds([p.pid]) - b for p, b in zip(procs, parts_before, strict=True)]
        worker_main = cpu_seconds([procs[2].pid], children=False) - worker_main_before
        load = os.getloadavg()[0]
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()

    print(
        f"CPU used by the stack (web, worker, SMTP, stand-in; PostgreSQL and Redis not "
        f"counted): {1000 * stack_cpu / max(len(timed), 1):.0f} ms per order; "
        f"{os.cpu_count()} CPUs, load average {load:.1f} at the end",
        flush=True,
    )
    names = ["smtp", "stripe stand-in", "celery worker", "gunicorn"]
    print(
        "  per order: "
        + ", ".join(
            f"{name} {1000 * cpu / max(len(timed), 1):.0f} ms"
            for name, cpu in zip(names, parts, strict=True)
        )
        + f" (of which the worker's main process {1000 * worker_main / max(len(timed), 1):.0f} ms)",
        flush=True,
    )
    report(smtp_log=smtp_log, orders=timed, sent_seconds=sent_seconds, elapsed=elapsed)


def seed(*, total: int, stripe_url: str) -> tuple[list, list[str]]:
    """A product with enough keys and ``total`` pending orders paid at the Stripe stand-in."""
    from keys.demo import code_generator_for
    from keys.models import KeyBatch, Supplier
    from keys.services import key_import
    from orders.models import FraudSettings
    from orders.selectors import checkout_consents_list
    from orders.services import ConsentGiven, order_create_from_cart
    from storefront.models import Category, Product
    from storefront.selectors import cart_get
    from tests.orders.helpers import session_event

    consents = [
        ConsentGiven(
            kind=c.kind, text=c.wording, wording_version=c.wording_version,
            clause=c.clause_id, legal_basis=c.legal_basis,
        )
        for c in checkout_consents_list(language="en")
    ]  # fmt: skip
    run = uuid.uuid4().hex[:8]
    net = int(run[:2], 16)
    category, _ = Category.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    product = Product.objects.create(
        category=category,
        name=f"Bench key {run}",
        slug=f"bench-key-{run}",
        sku=f"BENCH-{run}",
        platform="windows",
        price="19.90",
        max_per_order=5,
        low_stock_threshold=0,
    )
    supplier, _ = Supplier.objects.get_or_create(name="Bench supplier")
    batch = KeyBatch.objects.create(
        supplier=supplier, product=product, cost_per_key="1.00", currency="EUR"
    )
    make = code_generator_for(product)
    report = key_import(
        product=product,
        batch=batch,
        lines=(make() for _ in range(total + 10)),
        source_name="bench",
    )
    assert report.ok, report.message
    FraudSettings.objects.update_or_create(id=1, defaults={"enabled": True})

    import requests

    stripe_http = requests.Session()
    orders, payloads = [], []
    cart = cart_get(session_cart={str(product.pk): 1})
    for i in range(total):
        order = order_create_from_cart(
            cart=cart,
            billing_name="Bench Buyer",
            email=f"bench-{run}-{i}@example.com",
            language="en",
            ip=f"10.{net}.{(i >> 8) & 255}.{i & 255}",  # a fresh address per buyer and run
            user_agent="bench",
            consents=consents,  # every box the active policy asks for, as a buyer ticks them
        )
        # the session as our checkout creates it, then "the customer pays" at the stand-in
        session = stripe_http.post(
            stripe_url + "/v1/checkout/sessions",
            data={
                "mode": "payment",
                "customer_email": order.email,
                "client_reference_id": str(order.pk),
                "metadata[order_id]": str(order.pk),
                "metadata[order_number]": order.number,
                "line_items[0][quantity]": "1",
                "line_items[0][price_data][currency]": "eur",
                "line_items[0][price_data][unit_amount]": "1990",
            },
        ).json()
        paid = stripe_http.post(
            f"{stripe_url}/_standin/pay/{session['id']}",
            data={"fingerprint": f"fp_bench_{run}_{i}", "risk_level": "normal"},
        ).json()
        order.gateway = "stripe"
        order.gateway_session_id = session["id"]
        order.save(update_fields=["gateway", "gateway_session_id"])
        orders.append(order)
        payloads.append(session_event(order, payment_intent=paid["payment_intent"]))
    return orders, payloads


def send(base: str, payloads: list[str], *, rate: float) -> float:
    """POST signed webhooks at a steady rate; returns the seconds the sending took."""
    import requests

    from tests.orders.helpers import signature_header

    local = threading.local()

    def post(payload: str) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        header = signature_header(payload, secret=WEBHOOK_SECRET)
        for attempt in range(3):  # like Stripe, send again when the connection drops
            try:
                response = session.post(
                    base + "/orders/webhooks/stripe/",
                    data=payload.encode(),
                    headers={"Stripe-Signature": header, "Content-Type": "application/json"},
                    timeout=30,
                )
                break
            except requests.ConnectionError:
                if attempt == 2:
                    raise
                session = local.session = requests.Session()
        if response.status_code != 200:
            print(f"webhook answered {response.status_code}: {response.text[:200]}", flush=True)

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=32) as pool:
        futures = []
        for i, payload in enumerate(payloads):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(post, payload))
        last_submit = time.monotonic()
        for future in futures:
            future.result()
    return max(last_submit - start, 1e-9)


def wait_emails(smtp_log: Path, orders, *, timeout: float) -> None:
    from tests.orders.smtp_sink import accepted_read

    deadline = time.monotonic() + timeout
    numbers = {o.number for o in orders}
    while time.monotonic() < deadline:
        got = {a.order_number for a in accepted_read(str(smtp_log)) if a.kind == "delivery"}
        if numbers <= got:
            break
        time.sleep(0.1)
    time.sleep(1.0)  # let any duplicate surface before counting


def report(*, smtp_log: Path, orders, sent_seconds: float, elapsed: float) -> None:
    from django.db import connection

    from orders.models import WebhookEvent
    from tests.orders.smtp_sink import accepted_read

    connection.close()
    received = {
        str(e.order_id): e.received_at.timestamp()
        for e in WebhookEvent.objects.filter(order_id__in=[o.pk for o in orders])
    }
    accepted: dict[str, list[float]] = {}
    for item in accepted_read(str(smtp_log)):
        if item.kind == "delivery":
            accepted.setdefault(item.order_number, []).append(item.at)
    latencies, lost, duplicates = [], 0, 0
    for order in orders:
        times = accepted.get(order.number, [])
        if not times or str(order.pk) not in received:
            lost += 1
            continue
        duplicates += len(times) - 1
        latencies.append((min(times) - received[str(order.pk)]) * 1000)
    rate = (len(orders) - 1) / sent_seconds if len(orders) > 1 else 0.0
    p50, p95, p99 = (percentile(latencies, p) for p in (50, 95, 99))
    print(
        f"orders={len(orders)} sent in {sent_seconds:.1f}s, all emails in {elapsed:.1f}s; "
        f"latency ms: min={min(latencies, default=0):.0f} p50={p50:.0f} p95={p95:.0f} "
        f"p99={p99:.0f} max={max(latencies, default=0):.0f}",
        flush=True,
    )
    print(
        f"RESULT orders={len(orders)} rate={rate:.1f} p50_ms={p50:.0f} p95_ms={p95:.0f} "
        f"p99_ms={p99:.0f} lost={lost} duplicates={duplicates}",
        flush=True,
    )


if __name__ == "__main__":
    main()
