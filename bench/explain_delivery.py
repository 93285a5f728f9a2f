"""EXPLAIN every statement of the paid-order path on a database with many orders.

Seeds ``--orders`` (1,000,000) delivered orders with SQL ``generate_series`` (order,
line, risk row with a card fingerprint, key, webhook event, email row, outbox message:
about 7 rows per order, in a few minutes), then runs one real paid order through the
path in this process (``delivery_profile.measure``: the webhook request and the task it
queues), captures its SQL, and prints ``EXPLAIN (ANALYZE, BUFFERS)`` of every SELECT and
UPDATE (inside a transaction rolled back), plus the sweeper's queries. Use a database of
its own: a second run reuses the seeded rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/keystore_explain \\
    .venv/bin/python bench/explain_delivery.py [--orders 1000000]
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

SEED_SQL = """
INSERT INTO orders_order (id, number, email, billing_name, language, status, currency, total,
    purchase_ip, user_agent, policy_preset, gateway, gateway_session_id, gateway_payment_id,
    created_at, paid_at, delivered_at, refunded_total, cart_ref)
SELECT md5('o' || g)::uuid, 'KX-' || lpad(g::text, 9, '0'), 'buyer' || (g %% 400000) || '@example.com',
    'Buyer', 'en', 'delivered', 'EUR', 19.90,
    ('10.' || (g >> 16) %% 256 || '.' || (g >> 8) %% 256 || '.' || g %% 256)::inet, 'seed', '',
    'stripe', 'cs_seed_' || g, 'pi_seed_' || g,
    now() - (g || ' seconds')::interval, now() - (g || ' seconds')::interval,
    now() - (g || ' seconds')::interval, 0, ''
FROM generate_series(1, %(n)s) g;
INSERT INTO orders_orderline (product_name, quantity, unit_price, line_total, order_id, product_id,
    exchange_reference)
SELECT 'Seed key', 1, 19.90, 19.90, md5('o' || g)::uuid, %(product)s, ''
FROM generate_series(1, %(n)s) g;
INSERT INTO orders_orderrisk (risk_level, card_fingerprint, checked_at, hold_reasons, order_id)
SELECT 'normal', 'fp_seed_' || (g %% 300000), now() - (g || ' seconds')::interval, '[]',
    md5('o' || g)::uuid
FROM generate_series(1, %(n)s) g;
INSERT INTO keys_key (status, ciphertext, fingerprint, last4, delivered_at, status_changed_at,
    created_at, order_line_id, product_id, batch_id)
SELECT 'delivered', 'seed', md5('k' || l.id), 'SEED', now(), now(), now(), l.id, %(product)s,
    %(batch)s
FROM orders_orderline l JOIN orders_order o ON o.id = l.order_id WHERE o.number LIKE 'KX-%%';
INSERT INTO orders_webhookevent (gateway, event_id, type, payload, status, attempts, error,
    received_at, processed_at, order_id)
SELECT 'stripe', 'evt_seed_' || g, 'checkout.session.completed', '{}', 'processed', 1, '',
    now() - (g || ' seconds')::interval, now() - (g || ' seconds')::interval, md5('o' || g)::uuid
FROM generate_series(1, %(n)s) g;
INSERT INTO orders_orderemail (kind, status, attempts, last_error, created_at, sent_at, order_id)
SELECT 'delivery', 'sent', 1, '', now() - (g || ' seconds')::interval, now(), md5('o' || g)::uuid
FROM generate_series(1, %(n)s) g;
INSERT INTO core_outboundemail (idempotency_key, audience, recipients, subject, body_text,
    body_html, headers, renderer, context, hook, status, attempts, next_attempt_at, last_error,
    created_at, sent_at)
SELECT 'seed:' || g, 'customer', '[]', '', '', '', '{}', 'orders.email', '{}', 'orders.email',
    'sent', 1, now() - (g || ' seconds')::interval, '', now(), now()
FROM generate_series(1, %(n)s) g;
ANALYZE;
"""

# The sweeper's reads (beat, every minute), with the same filters the ORM writes.
SWEEPER_SQL = [
    "SELECT id FROM orders_order WHERE status IN ('paid', 'backordered') "
    "AND paid_at <= now() - interval '30 seconds' LIMIT 500",
    "SELECT id FROM orders_webhookevent WHERE status = 'received' "
    "AND received_at <= now() - interval '30 seconds' ORDER BY received_at LIMIT 500",
    "SELECT id FROM core_outboundemail WHERE (status = 'pending' AND next_attempt_at <= now()) "
    "OR (status = 'sending' AND lease_until <= now()) ORDER BY next_attempt_at, id LIMIT 500",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--lines", type=int, default=6, help="plan lines shown per statement")
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres"):
        raise SystemExit("set DATABASE_URL (PostgreSQL): a database of its own")
    database_ensure(database_url)
    smtp_port, stripe_port = free_port(), free_port()
    smtp_log = Path(tempfile.mkdtemp(prefix="bench-explain-")) / "smtp.log"
    smtp_log.touch()
    helpers = [
        subprocess.Popen([sys.executable, "tests/orders/smtp_sink.py", str(smtp_port), str(smtp_log)],
                         cwd=ROOT, stdout=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, "tests/orders/stripe_standin.py", str(stripe_port)],
                         cwd=ROOT, stdout=subprocess.DEVNULL),
    ]  # fmt: skip
    stripe_url = f"http://127.0.0.1:{stripe_port}"
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings", KEYSTORE_ENV="test", DEBUG="false",
        EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(smtp_port), EMAIL_USE_TLS="false",
        PAYMENT_GATEWAY="stripe", STRIPE_SECRET_KEY="sk_test_bench", STRIPE_API_BASE=stripe_url,
        STRIPE_WEBHOOK_SECRET="whsec_bench_delivery", STAFF_ALERT_EMAILS="staff@bench.invalid",
        LOG_LEVEL="WARNING", CELERY_BROKER_URL="memory://",
        CACHE_KEY_PREFIX=f"bench-{uuid.uuid4().hex[:8]}",
    )  # fmt: skip
    try:
        run(args, stripe_url=stripe_url)
    finally:
        for proc in helpers:
            proc.terminate()


def run(args, *, stripe_url: str) -> None:
    import django

    django.setup()
    from delivery import bench_seed, wait_http
    from delivery_profile import measure
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from keys.models import KeyBatch

    call_command("migrate", verbosity=0, interactive=False)
    wait_http(stripe_url + "/", timeout=60)
    _orders, payloads = bench_seed(total=3, stripe_url=stripe_url)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM orders_order WHERE number LIKE 'KX-%'")
        have = cursor.fetchone()[0]
    if have < args.orders:
        batch = KeyBatch.objects.order_by("-id").first()
        started = time.monotonic()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM orders_order WHERE number LIKE 'KX-%'") if have else None
            for statement in SEED_SQL.split(";\n"):
                if statement.strip():
                    cursor.execute(
                        statement,
                        {"n": args.orders, "product": batch.product_id, "batch": batch.pk},
                    )
        print(f"seeded {args.orders} orders in {time.monotonic() - started:.0f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    with CaptureQueriesContext(connection) as ctx:
        measure(payloads=payloads[2:3])
    statements = [q["sql"] for q in ctx.captured_queries] + SWEEPER_SQL
    for sql in statements:
        verb = sql.split(None, 1)[0].upper()
        if verb not in ("SELECT", "UPDATE"):
            continue
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = [row[0] for row in cursor.fetchall()]
            transaction.set_rollback(True)
        print(f"\n-- {sql[:300]}")
        for line in plan[: args.lines]:
            print("   ", line)
        print("   ", plan[-1])
    print(f"\nRESULT name=explain_delivery orders={args.orders} statements={len(statements)}")


if __name__ == "__main__":
    main()
