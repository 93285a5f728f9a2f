"""Profile the paid-order path in one process: queries and CPU per step, per order.

Runs the same code the web and worker processes run, without the network between them:
the signed ``checkout.session.completed`` webhook through Django's full middleware stack
(``django.test.Client``), then every task that request enqueued (and the tasks those
enqueue) as the worker would run them, with a real SMTP server (aiosmtpd, in its own
process) and the Stripe stand-in answering the risk lookup. For each step it counts the
SQL statements (``CaptureQueriesContext``) and the CPU time of this process
(``time.process_time``), and prints the per-order figures; ``--profile web|worker``
writes a cProfile of that step (``--profile-out``); ``--no-pdf`` attaches fixed bytes
instead of drawing the invoice PDF (``bench/invoice_pdf.py`` measures that alone).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/keystore_bench \\
    .venv/bin/python bench/delivery_profile.py [--orders 200]

``--calls`` also counts each step's Python function calls: a figure that does not move
between runs of the same code, where CPU time on a shared virtual machine moves by 10-20%.

Last line: ``RESULT name=delivery_profile orders=... web_queries=... worker_queries=...
web_cpu_ms=... worker_cpu_ms=... [web_calls=... worker_calls=... profiled=1]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from common import ROOT, database_ensure, free_port  # noqa: E402 (sets up sys.path)

WEBHOOK_SECRET = "whsec_bench_delivery"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--profile", choices=["web", "worker", ""], default="")
    parser.add_argument("--profile-out", default="var/delivery.prof")
    parser.add_argument("--show-queries", action="store_true", help="print one order's SQL")
    parser.add_argument(
        "--calls",
        action="store_true",
        help="also count the Python function calls of each step (cProfile's count: the same "
        "on every run of the same code, where CPU time on a shared machine moves by 10-20%%); "
        "the CPU figures of such a run include the profiler's own cost",
    )
    parser.add_argument(
        "--no-pdf",
        action="store_true",
        help="attach fixed bytes instead of drawing the invoice PDF (bench/invoice_pdf.py "
        "measures the PDF alone): the rest of the worker's path, invoice issued as usual",
    )
    args = parser.parse_args()
    if args.calls and args.profile:
        parser.error("--calls and --profile both profile: choose one")

    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres"):
        raise SystemExit("set DATABASE_URL (PostgreSQL), see bench/README.md")
    database_ensure(database_url)
    smtp_port, stripe_port = free_port(), free_port()
    smtp_log = Path(tempfile.mkdtemp(prefix="bench-profile-")) / "smtp-accepted.log"
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
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        KEYSTORE_ENV="test",
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
        CELERY_BROKER_URL="memory://",  # tasks are captured below, never sent
        CACHE_KEY_PREFIX=f"bench-{uuid.uuid4().hex[:8]}",
    )
    try:
        run(args, stripe_url=stripe_url)
    finally:
        for proc in helpers:
            proc.terminate()


def run(args, *, stripe_url: str) -> None:
    import django

    django.setup()
    from delivery import bench_seed, wait_http
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    if args.no_pdf:
        import invoices.delivery

        invoices.delivery.document_pdf = lambda *, document: b"%PDF-1.4 bench stub\n"
    wait_http(stripe_url + "/", timeout=30)
    _orders, payloads = bench_seed(total=args.warmup + args.orders, stripe_url=stripe_url)
    steps = measure(
        payloads=payloads,
        warmup=args.warmup,
        profile=args.profile,
        profile_out=args.profile_out,
        show_queries=args.show_queries,
        count_calls=args.calls,
    )
    n = args.orders
    totals = {"web": [0, 0.0, 0], "worker": [0, 0.0, 0]}
    for step, (count, queries, cpu, calls) in steps.items():
        print(f"{step:55s} runs/order={count / n:.2f} queries/order={queries / n:5.1f} "
              f"cpu_ms/order={1000 * cpu / n:6.2f}"
              + (f" calls/order={calls / n:8.0f}" if args.calls else ""))  # fmt: skip
        bucket = totals["web" if step == "web" else "worker"]
        bucket[0] += queries
        bucket[1] += cpu
        bucket[2] += calls
    calls = (
        f" web_calls={totals['web'][2] / n:.0f} worker_calls={totals['worker'][2] / n:.0f}"
        " profiled=1"
        if args.calls
        else ""
    )
    print(
        f"RESULT name=delivery_profile orders={n} web_queries={totals['web'][0] / n:.1f} "
        f"worker_queries={totals['worker'][0] / n:.1f} "
        f"web_cpu_ms={1000 * totals['web'][1] / n:.2f} "
        f"worker_cpu_ms={1000 * totals['worker'][1] / n:.2f}{calls}"
        f"{' pdf=stub' if args.no_pdf else ''}",
        flush=True,
    )


def measure(
    *,
    payloads: list[str],
    warmup: int = 0,
    profile: str = "",
    profile_out: str = "",
    show_queries: bool = False,
    count_calls: bool = False,
) -> dict[str, list]:
    """Post each webhook, then run what it enqueued as the worker would; returns, per
    step (``web`` or ``worker <task name>``), [runs, queries, CPU seconds, Python function
    calls (``count_calls``, else 0)] over the payloads after ``warmup``. Tasks are
    captured, never sent to a broker."""
    import cProfile

    from celery.app.task import Task
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from config.celery import app as celery_app
    from tests.orders.helpers import signature_header

    queued: list[tuple[str, tuple]] = []

    def capture(self, args=None, kwargs=None, **options):  # noqa: ARG001
        queued.append((self.name, tuple(args or ())))

    original = Task.apply_async
    Task.apply_async = capture  # what the web process would hand to the broker
    client = Client()
    steps: dict[str, list] = {}
    profiler = None
    if profile:
        profiler = cProfile.Profile(time.process_time)

    def timed(step: str, fn, record: bool):
        # the debug log keeps 9,000 statements: past that, CaptureQueriesContext's slice
        # of it comes out short (a run of 200 orders counted 38 where 63 ran)
        connection.queries_log.clear()
        counter = cProfile.Profile() if count_calls and record else None
        with CaptureQueriesContext(connection) as ctx:
            if profiler is not None and record and step.startswith(profile):
                profiler.enable()
            if counter is not None:
                counter.enable()
            started = time.process_time()
            fn()
            cpu = time.process_time() - started
            if counter is not None:
                counter.disable()
            if profiler is not None:
                profiler.disable()
        if record:
            entry = steps.setdefault(step, [0, 0, 0.0, 0])
            entry[0] += 1
            entry[1] += len(ctx.captured_queries)
            entry[2] += cpu
            if counter is not None:  # what pstats calls total_calls
                entry[3] += sum(stat.callcount for stat in counter.getstats())
        if show_queries and record and not shown:
            print(f"--- {step}: {len(ctx.captured_queries)} queries")
            for q in ctx.captured_queries:
                print("   ", q["sql"][:240])

    shown = False
    try:
        for index, payload in enumerate(payloads):
            record = index >= warmup

            def post(payload=payload):
                response = client.post(
                    "/orders/webhooks/stripe/",
                    data=payload,
                    content_type="application/json",
                    HTTP_STRIPE_SIGNATURE=signature_header(payload, secret=WEBHOOK_SECRET),
                )
                assert response.status_code == 200, response.content[:200]

            timed("web", post, record)
            while queued:
                name, task_args = queued.pop(0)
                task = celery_app.tasks[name]
                timed(f"worker {name}", lambda t=task, a=task_args: t.run(*a), record)
            shown = shown or record
    finally:
        Task.apply_async = original
    if profiler is not None:
        Path(profile_out).parent.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(profile_out)
        print(f"profile written to {profile_out}")
    return steps


if __name__ == "__main__":
    main()
