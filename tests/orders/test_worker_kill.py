"""A real Celery worker (a subprocess on Redis) killed with SIGKILL in the middle of a delivery.

The worker is caught while it is handing the first key email to a real SMTP server (the
server stalls after RCPT TO). It is killed with SIGKILL, a new worker is started, and the
periodic sweepers run (as beat would; the outbox's hands the killed worker's leased
message on once its lease expires). Every paid order must end up delivered exactly
once: its keys allocated once and one key email accepted by the SMTP server.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from keys.models import KeyEvent
from orders.models import Order, OrderEmail
from orders.services import payment_test_card_submit
from tests.factories import keys_create, order_new
from tests.waiting import wait_until

from .smtp_sink import SmtpSink

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]


def _worker_env(smtp_port: int) -> dict:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        KEYSTORE_ENV="test",  # the same fixed test secrets (key encryption) as this process
        DATABASE_URL=url,  # the TEST database
        REDIS_URL=os.environ["REDIS_URL"],
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_port),
        EMAIL_USE_TLS="false",
        EMAIL_TIMEOUT="60",
        PAYMENT_GATEWAY="test",
        STAFF_ALERT_EMAILS="staff@keystore.test",
        # the killed worker's message is leased; a short lease hands it on quickly
        OUTBOX_LEASE_SECONDS="5",
    )
    return env


def _start_worker(env: dict, name: str) -> subprocess.Popen:
    celery = Path(sys.executable).with_name("celery")
    return subprocess.Popen(
        [
            str(celery),
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--concurrency",
            "1",
            "--loglevel",
            "WARNING",
            "--hostname",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],  # fmt: skip
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _nothing_left_to_run(app) -> bool:
    """The queue in Redis is empty and the live worker answers that it is running and
    holding nothing: every message due so far has been handled (a solo worker busy with a
    task does not answer, which counts as busy). Retries it holds for a later time (eta)
    are not waited for: the outbox's retry of a message already sent finds it sent."""
    with app.connection_for_write() as conn:
        if conn.default_channel.client.llen(app.conf.task_default_queue):
            return False
    inspect = app.control.inspect(timeout=1.0)
    replies = [inspect.active(), inspect.reserved()]
    return all(reply and not any(reply.values()) for reply in replies)


@pytest.fixture
def broker():
    """Tasks go to Redis (not in-process) for this test; the queue starts empty."""
    from config.celery import app

    app.conf.task_always_eager = False
    app.control.purge()
    yield app
    app.control.purge()
    app.conf.task_always_eager = True


def test_killed_worker_mid_delivery_every_paid_order_delivered_exactly_once(win, broker):
    keys_create(product=win, count=10)
    sink = SmtpSink(stall_rcpt=True).start()
    env = _worker_env(sink.port)
    workers = [_start_worker(env, "first")]
    try:
        orders = [
            order_new(product=win, quantity=2 if i == 0 else 1, email=f"k{i}@example.com",
                      ip=f"192.0.2.{i}")
            for i in range(5)
        ]  # fmt: skip
        for order in orders:
            card = "4242424242424242"
            payment_test_card_submit(session_id=order.gateway_session_id, card_number=card)

        # the worker is now handing the first key email to the SMTP server: kill it there
        assert sink.stalled.wait(timeout=60), "the worker never reached the SMTP server"
        os.kill(workers[0].pid, signal.SIGKILL)
        workers[0].wait(timeout=10)
        assert not sink.accepted
        sink.release()

        workers.append(_start_worker(env, "second"))
        from core.tasks import outbox_sweep_task
        from orders.tasks import orders_sweep_undelivered_task

        last_sweep = [0.0]

        def all_done():
            if time.monotonic() - last_sweep[0] > 2:
                orders_sweep_undelivered_task.delay(0)  # what beat does every minute
                outbox_sweep_task.delay()  # and every half minute
                last_sweep[0] = time.monotonic()
            statuses = set(Order.objects.values_list("status", flat=True))
            unsent = OrderEmail.objects.exclude(status="sent").exists()
            return statuses == {"delivered"} and not unsent

        wait_until(all_done, timeout=90, what="every order delivered and emailed", interval=0.1)
        # before counting, every sweep sent above has run: a stray duplicate has surfaced
        wait_until(lambda: _nothing_left_to_run(broker), timeout=120, what="the worker to go idle")
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGKILL)
                worker.wait(timeout=10)
        sink.stop()

    for order in orders:
        order.refresh_from_db()
        line = order.lines.get()
        assert order.status == "delivered"
        assert line.keys.filter(status="delivered").count() == line.quantity
        assert KeyEvent.objects.filter(order_id=order.pk, to_status="delivered").count() == (
            line.quantity
        )
        assert len(sink.for_order(order.number)) == 1, order.number
    assert KeyEvent.objects.filter(to_status="delivered").count() == 6
