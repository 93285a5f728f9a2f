"""Benchmark: paid webhook sent -> key email accepted by an SMTP server.

Runs the real stack on this machine:
- gunicorn serving the app (the Stripe webhook endpoint), one instance per node; with
  ``--nodes`` the instances sit behind Debian's nginx on loopback (round robin),
- a Celery worker on Redis per node (its own ``-n`` hostname, as separate hosts run them):
  delivery (fraud check, key allocation, email),
- PostgreSQL (``DATABASE_URL``; the database is created and migrated if needed),
- Redis: its own ``redis-server`` on a free port (so its CPU is counted), or ``REDIS_URL``
  with ``--redis-url``,
- a local SMTP server (aiosmtpd) that timestamps every accepted email,
- a local Stripe API stand-in answering the worker's risk lookups.

It seeds (in bulk) a product with keys and pending orders whose Stripe sessions are paid,
then sends signed ``checkout.session.completed`` webhooks at a steady offered rate.
Latency per order runs from the client submitting its webhook (so time queued in front of
or inside gunicorn counts) to the SMTP server accepting its key email. ``rate`` is the
rate achieved (orders delivered / seconds from the first submission to the last email),
``lost`` the orders never delivered within ``--drain`` seconds, ``late`` those delivered
after more than 1 s, ``doubled`` those that got their key email twice.

CPU per order is the figure to compare across machines: the CPU time (user + system, from
/proc) of every process of the stack before and after the run, divided by the orders:
gunicorn, Celery worker, PostgreSQL backends of the bench database, Redis, SMTP sink
(the Stripe stand-in is reported apart: it plays Stripe), less what the idle stack burns
over the same time (measured for 5 s just before).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/keystore_bench \\
    .venv/bin/python bench/delivery.py [--rate 20] [--seconds 20]
    .venv/bin/python bench/delivery.py --sweep            # finds the highest rate held
    .venv/bin/python bench/delivery.py --sweep --nodes 1,2  # 1 node, then 2, same run
    .venv/bin/python bench/delivery.py --sweep --nodes 1,2 --pin-nodes  # each node on a core of its own

Last line (one per node count):
``RESULT name=delivery nodes=... max_rate=... p99_ms=... lost=... doubled=...
cpu_ms_per_order=... cpu_web_ms=... cpu_worker_ms=... cpu_pg_ms=... queries_per_order=...
failed_at=... rate_at_failure=... pinned=... load=... busy_pct=... steal_pct=...
machine_ms_per_order=...``
(``rate_at_failure``: what the stack delivered at the first rate it did not hold, its
ceiling; ``busy_pct`` / ``steal_pct``: the share of all cores' time that was busy, and
that the hypervisor took from this virtual machine, during the step shown;
``machine_ms_per_order``: the whole machine's busy CPU per order in that step, every
process and the kernel included)
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from common import ROOT, database_ensure, free_port  # noqa: E402 (sets up sys.path)

WEBHOOK_SECRET = "whsec_bench_delivery"
SWEEP_RATES = [5, 10, 20, 30, 40, 60, 80, 100, 120, 150, 200, 250, 300]
P99_LIMIT_MS = 1000.0


# --- CPU accounting (/proc) -------------------------------------------------------------


def _proc_table() -> dict[int, tuple[int, float, str]]:
    """pid -> (parent pid, CPU seconds used, command line)."""
    tick = os.sysconf("SC_CLK_TCK")
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        table[int(entry.name)] = (
            int(fields[1]),
            (int(fields[11]) + int(fields[12])) / tick,
            cmdline,
        )
    return table


def _tree(table, roots: list[int]) -> set[int]:
    wanted, changed = set(roots), True
    while changed:
        changed = False
        for pid, (ppid, _cpu, _cmd) in table.items():
            if ppid in wanted and pid not in wanted:
                wanted.add(pid)
                changed = True
    return wanted


@dataclass
class CpuSample:
    by_part: dict[str, float] = field(default_factory=dict)


def cpu_sample(*, parts: dict[str, list[int]], pg_database: str, skip_pids: set[int]) -> CpuSample:
    """CPU seconds so far of each part (a list of root pids, children included) and of
    the PostgreSQL backends serving ``pg_database`` (``postgres: user db ...``)."""
    table = _proc_table()
    sample = CpuSample()
    for name, roots in parts.items():
        sample.by_part[name] = sum(table[pid][1] for pid in _tree(table, roots) if pid in table)
    marker = f" {pg_database} "
    sample.by_part["pg"] = sum(
        cpu
        for pid, (_ppid, cpu, cmd) in table.items()
        if cmd.startswith("postgres:") and marker in cmd + " " and pid not in skip_pids
    )
    return sample


def machine_times() -> tuple[int, int, int]:
    """(busy, stolen, total) clock ticks of all cores so far (``/proc/stat``). On a
    virtual machine the hypervisor's "steal" is time the cores were not ours: a step with
    steal ran on less CPU than the core count says."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return user + nice + system + irq + softirq, steal, sum(fields[:8])


def pg_backends_gone(*, before: set[int], pg_database: str) -> int:
    marker = f" {pg_database} "
    now = {
        pid
        for pid, (_p, _c, cmd) in _proc_table().items()
        if cmd.startswith("postgres:") and marker in cmd + " "
    }
    return len(before - now)


def pg_backend_pids(pg_database: str) -> set[int]:
    marker = f" {pg_database} "
    return {
        pid
        for pid, (_p, _c, cmd) in _proc_table().items()
        if cmd.startswith("postgres:") and marker in cmd + " "
    }


# --- helpers -----------------------------------------------------------------------------


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


def wait_port(port: int, timeout: float) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port}")


# --- seeding (bulk) ---------------------------------------------------------------------


@dataclass
class Seeded:
    orders: list  # (pk, number)
    payloads: list[str]


def bench_seed(*, total: int, stripe_url: str, product=None) -> tuple[list, list[str]]:
    """``total`` pending orders paid at the Stripe stand-in, written in bulk.

    The first order goes through checkout (``order_create_from_cart``: lines, consents,
    policy acceptances, event); the others copy its rows with ``bulk_create``; the
    stand-in's sessions are created and paid by a few threads. Keys are imported in one
    ``key_import`` call.
    """
    from django.db import transaction

    from catalog.models import Category, Product
    from keys.demo import code_generator_for
    from keys.models import KeyBatch, Supplier
    from keys.services import key_import
    from orders.cart import cart_get
    from orders.models import (
        FraudSettings,
        Order,
        OrderConsent,
        OrderEvent,
        OrderLine,
        order_number_new,
    )
    from orders.selectors import checkout_consents_list
    from orders.services import ConsentGiven, order_create_from_cart
    from policies.selectors import preset_active_record_get
    from tests.orders.helpers import session_event

    if preset_active_record_get() is None:
        from django.core.management import call_command

        call_command("load_policy_preset", "allkeymasters", "--activate", verbosity=0)
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
        product=product, batch=batch, lines=(make() for _ in range(total + 10)), source_name="bench"
    )
    assert report.ok, report.message
    FraudSettings.objects.update_or_create(id=1, defaults={"enabled": True})

    cart = cart_get(session_cart={str(product.pk): 1})
    first = order_create_from_cart(
        cart=cart,
        billing_name="Bench Buyer",
        email=f"bench-{run}-0@example.com",
        language="en",
        ip=f"10.{net}.0.0",
        user_agent="bench",
        consents=consents,  # every box the active policy asks for, as a buyer ticks them
    )
    line = first.lines.get()
    first_consents = list(first.consents.all())
    orders = [first]
    with transaction.atomic():
        copies = Order.objects.bulk_create(
            [
                Order(
                    number=order_number_new(),
                    email=f"bench-{run}-{i}@example.com",
                    billing_name=first.billing_name,
                    language="en",
                    currency=first.currency,
                    total=first.total,
                    # the amounts as the first order's checkout computed them (the totals
                    # add up: database checks order_totals_add_up, orderline_amounts_add_up)
                    subtotal=first.subtotal,
                    discount_total=first.discount_total,
                    net_total=first.net_total,
                    tax_total=first.tax_total,
                    tax_regime=first.tax_regime,
                    tax_treatment=first.tax_treatment,
                    billing_country=first.billing_country,
                    purchase_ip=f"10.{net}.{(i >> 8) & 255}.{i & 255}",  # a fresh buyer
                    user_agent="bench",
                    policy_preset=first.policy_preset,
                    gateway="stripe",
                )
                for i in range(1, total)
            ],
            batch_size=2000,
        )
        OrderLine.objects.bulk_create(
            [
                OrderLine(order=o, product=product, product_name=line.product_name,
                          quantity=1, unit_price=line.unit_price, line_total=line.line_total,
                          discount_amount=line.discount_amount, net_amount=line.net_amount,
                          tax_amount=line.tax_amount, tax_rate=line.tax_rate)
                for o in copies
            ],
            batch_size=2000,
        )  # fmt: skip
        OrderConsent.objects.bulk_create(
            [
                OrderConsent(order=o, kind=c.kind, clause=c.clause, wording_version=c.wording_version,
                             text=c.text, legal_basis=c.legal_basis, ip=o.purchase_ip,
                             user_agent="bench", accepted_at=c.accepted_at)
                for o in copies
                for c in first_consents
            ],
            batch_size=2000,
        )  # fmt: skip
        OrderEvent.objects.bulk_create(
            [
                OrderEvent(order=o, kind="status", to_status="pending", reason="checkout")
                for o in copies
            ],
            batch_size=2000,
        )
    orders += copies

    import requests

    local = threading.local()

    def pay(index_order):
        index, order = index_order
        http = getattr(local, "http", None) or requests.Session()
        local.http = http
        session = http.post(
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
        paid = http.post(
            f"{stripe_url}/_standin/pay/{session['id']}",
            data={"fingerprint": f"fp_bench_{run}_{index}", "risk_level": "normal"},
        ).json()
        order.gateway = "stripe"
        order.gateway_session_id = session["id"]
        return session_event(order, payment_intent=paid["payment_intent"])

    with ThreadPoolExecutor(max_workers=4) as pool:
        payloads = list(pool.map(pay, enumerate(orders)))
    Order.objects.bulk_update(orders, ["gateway", "gateway_session_id"], batch_size=2000)
    return orders, payloads


# --- the stack ------------------------------------------------------------------------------


NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {run}/nginx.pid;
error_log {run}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {run}/nginx-tmp/body;
    proxy_temp_path {run}/nginx-tmp/proxy;
    fastcgi_temp_path {run}/nginx-tmp/fastcgi;
    uwsgi_temp_path {run}/nginx-tmp/uwsgi;
    scgi_temp_path {run}/nginx-tmp/scgi;
    upstream keystore_web {{ {servers} keepalive 32; }}
    server {{
        listen 127.0.0.1:{port};
        include {proxy_conf};
    }}
}}
"""


@dataclass
class Stack:
    args: argparse.Namespace
    env: dict[str, str]
    nodes: int
    run_dir: Path
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    base: str = ""

    def node_cpus(self, node: int) -> set[int] | None:
        """With ``--pin-nodes``, node n runs on core n-1 alone (its gunicorn and Celery
        processes and every child they fork inherit it), as a one-core host would; the
        shared services (PostgreSQL, Redis, SMTP, the Stripe stand-in, this client) keep
        every core, as separate database and mail hosts would."""
        if not self.args.pin_nodes:
            return None
        cores = sorted(os.sched_getaffinity(0))
        return {cores[(node - 1) % len(cores)]}

    def spawn(
        self, name: str, argv: list[str], *, cpus: set[int] | None = None
    ) -> subprocess.Popen:
        log = open(self.run_dir / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
        pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=pin
        )
        log.close()
        self.procs[name] = proc
        return proc

    def start(self) -> None:
        bin_dir = Path(sys.executable).parent
        args = self.args
        ports = []
        for node in range(1, self.nodes + 1):
            port = free_port()
            ports.append(port)
            self.spawn(
                f"web{node}",
                [str(bin_dir / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{port}",
                 "-w", str(args.web_workers), "-k", "gthread", "--threads", str(args.web_threads),
                 "--keep-alive", "30", "--log-level", "warning"],
                cpus=self.node_cpus(node),
            )  # fmt: skip
            self.spawn(
                f"worker{node}",
                [str(bin_dir / "celery"), "-A", "config", "worker", "--loglevel", "WARNING",
                 "--pool", args.worker_pool, "--concurrency", str(args.worker_concurrency),
                 "--without-gossip", "--without-mingle", "--without-heartbeat",
                 "-n", f"node{node}-{uuid.uuid4().hex[:6]}@%h"],
                cpus=self.node_cpus(node),
            )  # fmt: skip
        if self.args.nodes_given:
            nginx_port = free_port()
            (self.run_dir / "nginx-tmp").mkdir(exist_ok=True)
            conf = self.run_dir / "nginx.conf"
            conf.write_text(
                NGINX_CONF.format(
                    run=self.run_dir,
                    servers=" ".join(f"server 127.0.0.1:{p};" for p in ports),
                    port=nginx_port,
                    proxy_conf=ROOT / "deploy" / "nginx" / "keystore-proxy.conf",
                )
            )
            nginx = shutil.which("nginx") or "/usr/sbin/nginx"
            self.spawn("nginx", [nginx, "-c", str(conf), "-p", str(self.run_dir)])
            self.base = f"http://127.0.0.1:{nginx_port}"
        else:
            self.base = f"http://127.0.0.1:{ports[0]}"
        for port in ports:
            wait_http(f"http://127.0.0.1:{port}/healthz", timeout=300)
        wait_http(self.base + "/healthz", timeout=30)

    def parts(self) -> dict[str, list[int]]:
        groups: dict[str, list[int]] = {}
        for name, proc in self.procs.items():
            kind = name.rstrip("0123456789")
            groups.setdefault(kind, []).append(proc.pid)
        return groups

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()


# --- sending and measuring --------------------------------------------------------------


def send(base: str, payloads: list[str], *, rate: float) -> tuple[list[float], list[float]]:
    """POST signed webhooks at a steady offered rate (open loop, so a slow server does not
    slow the offer). Returns, per payload, the wall-clock time its request was submitted
    and how late that was against the schedule (seconds)."""
    import requests

    from tests.orders.helpers import signature_header

    local = threading.local()
    submitted = [0.0] * len(payloads)
    lag = [0.0] * len(payloads)
    errors: list[str] = []

    def post(index: int, due: float) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        payload = payloads[index]
        header = signature_header(payload, secret=WEBHOOK_SECRET)
        lag[index] = max(time.monotonic() - due, 0.0)
        submitted[index] = time.time()
        for attempt in range(3):  # like Stripe, send again when the connection drops
            try:
                response = session.post(
                    base + "/orders/webhooks/stripe/",
                    data=payload.encode(),
                    headers={"Stripe-Signature": header, "Content-Type": "application/json"},
                    timeout=60,
                )
                break
            except requests.ConnectionError:
                if attempt == 2:
                    raise
                session = local.session = requests.Session()
        if response.status_code != 200:
            errors.append(f"webhook answered {response.status_code}: {response.text[:200]}")

    start = time.monotonic() + 0.05
    with ThreadPoolExecutor(max_workers=64) as pool:
        futures = []
        for i in range(len(payloads)):
            due = start + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(post, i, due))
        for future in futures:
            future.result()
    for error in errors[:5]:
        print(error, flush=True)
    return submitted, lag


def accepted_times(smtp_log: Path) -> dict[str, list[float]]:
    from tests.orders.smtp_sink import accepted_read

    accepted: dict[str, list[float]] = {}
    for item in accepted_read(str(smtp_log)):
        if item.kind == "delivery":
            accepted.setdefault(item.order_number, []).append(item.at)
    return accepted


def wait_emails(smtp_log: Path, numbers: set[str], *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if numbers <= accepted_times(smtp_log).keys():
            break
        time.sleep(0.2)
    time.sleep(1.0)  # let any duplicate surface before counting


@dataclass
class StepResult:
    offered: float
    orders: int
    rate: float
    p50: float
    p95: float
    p99: float
    max_ms: float
    lost: int
    late: int
    doubled: int
    send_lag_p99_ms: float
    cpu: dict[str, float]  # ms per order per part
    queries_per_order: float
    load: float
    busy_pct: float = 0.0  # of the whole machine's CPU time during the step
    steal_pct: float = 0.0  # taken by the hypervisor from this virtual machine
    machine_ms: float = 0.0  # busy CPU of the whole machine per order (all processes, kernel)

    @property
    def held(self) -> bool:
        return self.p99 <= P99_LIMIT_MS and self.lost == 0 and self.doubled == 0

    @property
    def cpu_total(self) -> float:
        # the Stripe stand-in plays Stripe and the client plays the buyers: not the shop's
        return sum(v for k, v in self.cpu.items() if k not in ("stripe", "client"))


def run_step(*, stack: Stack, smtp_log: Path, stripe_url: str, rate: float, seconds: float,
             warmup: int, drain: float, helpers: dict[str, int], pg_database: str,
             queries_per_order: float, idle_seconds: float = 5.0) -> StepResult:  # fmt: skip
    from django.db import connection

    count = max(int(rate * seconds), 10)
    orders, payloads = bench_seed(total=warmup + count, stripe_url=stripe_url)
    connection.close()  # the bench's own backend is not part of the stack
    if warmup:
        send(stack.base, payloads[:warmup], rate=min(rate, 50))
        wait_emails(smtp_log, {o.number for o in orders[:warmup]}, timeout=60)
    orders, payloads = orders[warmup:], payloads[warmup:]
    parts = {**stack.parts(), **{name: [pid] for name, pid in helpers.items()}}
    backends = pg_backend_pids(pg_database)
    # What the idle stack burns (Celery's event loop, gunicorn's heartbeats, Redis): taken
    # out of the per-order figure, so a slow run does not inflate it.
    idle_from = cpu_sample(parts=parts, pg_database=pg_database, skip_pids=set())
    idle_started = time.monotonic()
    time.sleep(idle_seconds)
    before = cpu_sample(parts=parts, pg_database=pg_database, skip_pids=set())
    machine_before = machine_times()
    idle_elapsed = time.monotonic() - idle_started
    started = time.monotonic()
    client_started = time.process_time()  # the load generator shares the cores: say how much
    submitted, lag = send(stack.base, payloads, rate=rate)
    client_cpu = time.process_time() - client_started
    numbers = {o.number for o in orders}
    wait_emails(smtp_log, numbers, timeout=drain)
    after = cpu_sample(parts=parts, pg_database=pg_database, skip_pids=set())
    machine_after = machine_times()
    elapsed = time.monotonic() - started
    gone = pg_backends_gone(before=backends, pg_database=pg_database)
    if gone:
        print(
            f"  note: {gone} PostgreSQL backend(s) ended during the step; their CPU is not counted"
        )
    accepted = accepted_times(smtp_log)
    latencies, lost, late, doubled, last = [], 0, 0, 0, 0.0
    for order, sent_at in zip(orders, submitted, strict=True):
        times = accepted.get(order.number, [])
        if not times:
            lost += 1
            continue
        doubled += len(times) > 1
        ms = (min(times) - sent_at) * 1000
        late += ms > P99_LIMIT_MS
        latencies.append(ms)
        last = max(last, min(times))
    n = len(orders)
    delivered = n - lost
    achieved = delivered / max(last - min(submitted), 1e-9) if delivered > 1 else 0.0
    names = {"web": "web", "worker": "worker", "pg": "pg", "redis": "redis", "smtp": "smtp",
             "stripe": "stripe", "nginx": "nginx"}  # fmt: skip
    cpu = {}
    for k in after.by_part:
        if k in names:
            idle = (before.by_part.get(k, 0.0) - idle_from.by_part.get(k, 0.0)) / idle_elapsed
            used = after.by_part[k] - before.by_part.get(k, 0.0) - idle * elapsed
            cpu[names[k]] = max(1000 * used / n, 0.0)
    cpu["client"] = 1000 * client_cpu / n
    machine_total = max(machine_after[2] - machine_before[2], 1)
    return StepResult(
        offered=rate,
        orders=n,
        rate=achieved,
        p50=percentile(latencies, 50),
        p95=percentile(latencies, 95),
        p99=percentile(latencies, 99),
        max_ms=max(latencies, default=float("nan")),
        lost=lost,
        late=late,
        doubled=doubled,
        send_lag_p99_ms=1000 * percentile(lag, 99),
        cpu=cpu,
        queries_per_order=queries_per_order,
        load=os.getloadavg()[0],
        busy_pct=100 * (machine_after[0] - machine_before[0]) / machine_total,
        steal_pct=100 * (machine_after[1] - machine_before[1]) / machine_total,
        machine_ms=1000 * (machine_after[0] - machine_before[0]) / os.sysconf("SC_CLK_TCK") / n,
    )


def step_print(step: StepResult, *, nodes: int) -> None:
    cpu = " ".join(f"{k}={v:.1f}" for k, v in sorted(step.cpu.items()))
    print(
        f"  nodes={nodes} offered={step.offered:g}/s achieved={step.rate:.1f}/s orders={step.orders} "
        f"p50={step.p50:.0f} p95={step.p95:.0f} p99={step.p99:.0f} max={step.max_ms:.0f} ms "
        f"lost={step.lost} late={step.late} doubled={step.doubled} "
        f"send_lag_p99={step.send_lag_p99_ms:.0f} ms | cpu ms/order: {cpu} "
        f"(total {step.cpu_total:.1f}) queries/order={step.queries_per_order:.1f} "
        f"load={step.load:.1f} busy={step.busy_pct:.0f}% steal={step.steal_pct:.1f}% "
        f"machine={step.machine_ms:.1f} ms/order "
        f"{'held' if step.held else 'NOT held'}",
        flush=True,
    )


def result_line(
    *, nodes: int, best: StepResult | None, last: StepResult, sweep: bool, pinned: bool
) -> str:
    shown = best or last
    cpu = shown.cpu
    fields = {
        "name": "delivery",
        "nodes": nodes,
        ("max_rate" if sweep else "offered"): (f"{best.offered:g}" if best else "0") if sweep else f"{last.offered:g}",
        "rate": f"{shown.rate:.1f}",
        "p50_ms": f"{shown.p50:.0f}",
        "p99_ms": f"{shown.p99:.0f}",
        "lost": shown.lost,
        "late": shown.late,
        "doubled": shown.doubled,
        "cpu_ms_per_order": f"{shown.cpu_total:.1f}",
        "cpu_web_ms": f"{cpu.get('web', 0):.1f}",
        "cpu_worker_ms": f"{cpu.get('worker', 0):.1f}",
        "cpu_pg_ms": f"{cpu.get('pg', 0):.1f}",
        "cpu_redis_ms": f"{cpu.get('redis', 0):.1f}",
        "cpu_smtp_ms": f"{cpu.get('smtp', 0):.1f}",
        "cpu_nginx_ms": f"{cpu.get('nginx', 0):.1f}",
        "cpu_client_ms": f"{cpu.get('client', 0):.1f}",
        "queries_per_order": f"{shown.queries_per_order:.1f}",
        "failed_at": f"{last.offered:g}" if sweep and not last.held else "-",
        # What the stack delivered while offered more than it held: its ceiling.
        "rate_at_failure": f"{last.rate:.1f}" if sweep and not last.held else "-",
        "pinned": int(pinned),
        "load": f"{shown.load:.1f}",
        # the machine's CPU during the step held (percent of all cores' time): how busy,
        # and how much the hypervisor took (a shared virtual machine's noise)
        "busy_pct": f"{shown.busy_pct:.0f}",
        "steal_pct": f"{shown.steal_pct:.1f}",
        # the whole machine's busy CPU per order (every process and the kernel, the
        # bench's client and stand-ins included): what the parts above leave uncounted
        "machine_ms_per_order": f"{shown.machine_ms:.1f}",
    }  # fmt: skip
    return "RESULT " + " ".join(f"{k}={v}" for k, v in fields.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=20.0, help="offered webhooks per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long each rate is sent")
    parser.add_argument(
        "--sweep", action="store_true", help="raise the rate until p99 > 1 s or loss"
    )
    parser.add_argument(
        "--rates", default=",".join(map(str, SWEEP_RATES)), help="the sweep's rates"
    )
    parser.add_argument(
        "--nodes", default="", help="nodes behind nginx, e.g. 2 or 1,2 (compared in one run)"
    )
    parser.add_argument(
        "--warmup", type=int, default=20, help="orders sent first at each step, not timed"
    )
    parser.add_argument(
        "--drain", type=float, default=120.0, help="seconds to wait for the last emails"
    )
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=4)
    parser.add_argument("--worker-concurrency", type=int, default=8)
    parser.add_argument("--worker-pool", default="prefork", choices=["prefork", "threads"])
    parser.add_argument("--redis-url", default="", help="use this Redis instead of starting one")
    parser.add_argument(
        "--pin-nodes",
        action="store_true",
        help="run each node on a core of its own (node n on core n-1), as one-core hosts",
    )
    args = parser.parse_args()
    args.nodes_given = bool(args.nodes)
    node_counts = [int(n) for n in (args.nodes or "1").split(",")]
    if args.sweep and args.seconds == 20.0:
        args.seconds = 10.0

    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres"):
        raise SystemExit("set DATABASE_URL (PostgreSQL), see bench/README.md")
    database_ensure(database_url)
    import dj_database_url

    pg_database = dj_database_url.parse(database_url)["NAME"]

    run_dir = Path(tempfile.mkdtemp(prefix="bench-delivery-"))
    smtp_port, stripe_port = free_port(), free_port()
    smtp_log = run_dir / "smtp-accepted.log"
    smtp_log.touch()
    helpers: dict[str, subprocess.Popen] = {
        "smtp": subprocess.Popen(
            [sys.executable, "tests/orders/smtp_sink.py", str(smtp_port), str(smtp_log)],
            cwd=ROOT, stdout=subprocess.DEVNULL,
        ),
        "stripe": subprocess.Popen(
            [sys.executable, "tests/orders/stripe_standin.py", str(stripe_port)],
            cwd=ROOT, stdout=subprocess.DEVNULL,
        ),
    }  # fmt: skip
    # Stopped however the run ends (a failure while migrating or seeding included), so no
    # helper outlives the benchmark holding its port or the caller's output pipe.
    atexit.register(lambda: [proc.terminate() for proc in helpers.values()])
    redis_url = args.redis_url
    if not redis_url:
        redis_port = free_port()
        helpers["redis"] = subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(run_dir)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        wait_port(redis_port, timeout=10)
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
    stripe_url = f"http://127.0.0.1:{stripe_port}"
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        KEYSTORE_ENV="test",  # fixed test secrets, shared by every process; nothing in var/
        DEBUG="false",
        DB_CONN_MAX_AGE="600",
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
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
    from config.celery import app as celery_app

    celery_app.control.purge()
    wait_http(stripe_url + "/", timeout=30)
    # SQL statements per order (BEGIN, COMMIT and savepoints included), counted in this
    # process on the same code path: the webhook request, then what it queued.
    from delivery_profile import measure

    _counted, counted_payloads = bench_seed(total=12, stripe_url=stripe_url)
    steps = measure(payloads=counted_payloads, warmup=2)
    queries_per_order = sum(step[1] for step in steps.values()) / 10  # runs, queries, cpu, calls
    from django.db import connection

    connection.close()
    rates = [float(r) for r in args.rates.split(",")] if args.sweep else [args.rate]
    lines = []
    try:
        for nodes in node_counts:
            stack = Stack(args=args, env=env, nodes=nodes, run_dir=run_dir)
            try:
                stack.start()
                time.sleep(2)  # the workers connect to the broker
                best, last = None, None
                for rate in rates:
                    last = run_step(
                        stack=stack, smtp_log=smtp_log, stripe_url=stripe_url, rate=rate,
                        seconds=args.seconds, warmup=args.warmup, drain=args.drain,
                        helpers={k: p.pid for k, p in helpers.items()}, pg_database=pg_database,
                        queries_per_order=queries_per_order,
                    )  # fmt: skip
                    step_print(last, nodes=nodes)
                    if not last.held:
                        break
                    best = last
            finally:
                stack.stop()
            lines.append(
                result_line(
                    nodes=nodes, best=best, last=last, sweep=args.sweep, pinned=args.pin_nodes
                )
            )
    finally:
        for proc in helpers.values():
            proc.terminate()
    print(
        f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at the end "
        "(other processes share the machine: wall-clock rates move with them, CPU per order does not)",
        flush=True,
    )
    for line in lines:
        print(line, flush=True)


if __name__ == "__main__":
    main()
