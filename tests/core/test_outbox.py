"""The notifications outbox: a row per email, leased, sent outside any transaction, marked
sent only when an SMTP server accepted it; staff alerts in digests."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from core import outbox
from core.models import OutboundEmail, StaffAlert
from keys.models import Key
from keys.services import stock_alert_check
from orders.models import Order, OrderEmail
from orders.services import payment_test_card_submit
from tests.factories import ProductFactory, keys_create, order_new
from tests.orders.smtp_sink import SmtpSink

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _shop(settings):
    settings.PAYMENT_GATEWAY = "test"
    settings.SITE_URL = "http://testserver"
    settings.STAFF_ALERT_EMAILS = ["staff@keystore.test"]


@pytest.fixture
def counted_hook():
    """A real hook, registered as an app would, that records what it was told."""
    calls = []
    outbox.outbox_hook_register("tests.count", lambda **kw: calls.append(kw["event"]))
    yield calls
    outbox.OUTBOX_HOOKS.pop("tests.count", None)


def _stored(key: str, *, send_at=None, hook: str = "") -> OutboundEmail:
    with transaction.atomic():
        return outbox.outbox_enqueue(
            idempotency_key=key,
            to=["someone@example.com"],
            subject="Hello",
            text="A body",
            hook=hook,
            send_at=send_at,
        )


def test_the_same_idempotency_key_never_makes_a_second_message():
    first = _stored("test:1")
    again = _stored("test:1")
    assert first.pk == again.pk
    assert OutboundEmail.objects.filter(idempotency_key="test:1").count() == 1
    assert len(mail.outbox) == 1
    assert outbox.outbox_send(message_id=first.pk) == "done"
    assert len(mail.outbox) == 1


def test_an_expired_lease_lets_another_worker_send_and_the_first_cannot_mark_it_twice(
    counted_hook,
):
    message = _stored("test:lease", send_at=timezone.now() + timedelta(hours=1), hook="tests.count")
    OutboundEmail.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    # worker A claims it, then stalls (or dies) before the server answers
    leased = outbox._claim(message_id=message.pk, now=timezone.now())
    assert leased.status == "sending" and leased.attempts == 1
    assert outbox.outbox_send(message_id=message.pk) == "busy"  # worker B: still leased
    assert outbox.outbox_due_ids() == []
    # the lease runs out: the sweeper hands it to worker B, which sends it
    OutboundEmail.objects.filter(pk=message.pk).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    assert outbox.outbox_due_ids() == [message.pk]
    assert outbox.outbox_send_due() == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, message.lease_until) == ("sent", 2, None)
    assert len(mail.outbox) == 1
    # worker A wakes up and reports its own acceptance: nothing is recorded twice
    assert outbox._accepted(message=leased, facts={}) == "done"
    assert counted_hook == ["accepted"]


def test_a_failed_attempt_backs_off_with_jitter_then_gives_up(settings, counted_hook):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    settings.OUTBOX_MAX_ATTEMPTS = 3
    message = _stored("test:backoff", hook="tests.count")
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("pending", 1)
    first_wait = message.next_attempt_at - timezone.now()
    assert timedelta(seconds=1) <= first_wait <= timedelta(seconds=10)
    for _attempt in (2, 3):
        OutboundEmail.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
        outbox.outbox_send_due()
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 3)
    assert counted_hook == ["failed", "failed", "failed"]
    # staff are told a customer email was given up on
    assert StaffAlert.objects.get(kind="outbox").subject.endswith("test:backoff")


@pytest.mark.postgres
def test_no_transaction_and_no_row_lock_is_held_while_the_smtp_server_talks(settings):
    """During the SMTP conversation of a key email, another connection can lock the order,
    its email row, its keys and the outbox row at once (NOWAIT), and no connection of the
    shop sits idle in a transaction."""
    product = ProductFactory()
    keys_create(product=product, count=3)
    order = order_new(product=product, quantity=2, email="locks@example.com")
    sink = SmtpSink().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = sink.host, sink.port
    settings.EMAIL_USE_TLS, settings.EMAIL_TIMEOUT = False, 10
    idle_in_transaction = []

    def during_data():
        try:
            with transaction.atomic():
                list(Order.objects.select_for_update(nowait=True).filter(pk=order.pk))
                list(OrderEmail.objects.select_for_update(nowait=True).filter(order=order))
                list(Key.objects.select_for_update(nowait=True).filter(order_line__order=order))
                list(OutboundEmail.objects.select_for_update(nowait=True).all())
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%%'"
                )
                idle_in_transaction.append(cursor.fetchone()[0])
        finally:
            connection.close()

    sink.during_data = during_data
    try:
        payment_test_card_submit(
            session_id=order.gateway_session_id, card_number="4242424242424242"
        )
    finally:
        sink.stop()
    assert sink.during_errors == []
    assert [a.kind for a in sink.accepted if a.order_number == order.number] == ["delivery"]
    assert idle_in_transaction and set(idle_in_transaction) == {0}
    assert OrderEmail.objects.get(order=order).status == "sent"


def test_a_burst_of_20_low_stock_alerts_is_one_digest(settings):
    settings.OUTBOX_STAFF_DIGEST_SECONDS = 300
    products = [ProductFactory(name=f"Product {i:02d}", low_stock_threshold=5) for i in range(20)]
    for product in products:
        assert stock_alert_check(product_id=product.pk)
    assert [m for m in mail.outbox if m.to == ["staff@keystore.test"]] == []  # window open
    [digest] = OutboundEmail.objects.filter(audience="staff")
    assert digest.staff_alerts.count() == 20
    # the window closes: one message lists every alert
    OutboundEmail.objects.filter(pk=digest.pk).update(next_attempt_at=timezone.now())
    outbox.outbox_send_due()
    [sent] = [m for m in mail.outbox if m.to == ["staff@keystore.test"]]
    assert "20 alerts" in sent.subject
    assert all(f"Low stock: {p.name}" in sent.body for p in products)


def test_an_alert_raised_after_its_digest_was_taken_opens_a_new_one(settings):
    settings.OUTBOX_STAFF_DIGEST_SECONDS = 300
    first = outbox.staff_alert_enqueue(kind="hold", subject="one", body="")
    outbox._claim(message_id=first.digest_id, now=timezone.now() + timedelta(seconds=301))
    second = outbox.staff_alert_enqueue(kind="hold", subject="two", body="")
    assert second.digest_id != first.digest_id
    assert list(first.digest.staff_alerts.values_list("subject", flat=True)) == ["one"]


def test_a_dedupe_key_raises_an_alert_once():
    assert outbox.staff_alert_enqueue(kind="x", subject="s", body="", dedupe_key="k:1")
    assert outbox.staff_alert_enqueue(kind="x", subject="s", body="", dedupe_key="k:1") is None
    assert StaffAlert.objects.filter(dedupe_key="k:1").count() == 1


@pytest.mark.postgres
def test_two_workers_racing_for_one_message_send_it_once(settings):
    """Worker A is mid-conversation with the SMTP server (stalled after RCPT TO): worker B
    finds the message leased, not locked, and leaves it; A's send is the only one."""
    import threading

    sink = SmtpSink(stall_rcpt=True).start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = sink.host, sink.port
    settings.EMAIL_USE_TLS, settings.EMAIL_TIMEOUT = False, 30
    message = _stored("test:race", send_at=timezone.now() + timedelta(hours=1))
    OutboundEmail.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    results = {}

    def worker_a():
        try:
            results["a"] = outbox.outbox_send(message_id=message.pk)
        finally:
            connection.close()

    thread = threading.Thread(target=worker_a)
    thread.start()
    try:
        assert sink.stalled.wait(timeout=30)
        results["b"] = outbox.outbox_send(message_id=message.pk)
        assert OutboundEmail.objects.get(pk=message.pk).status == "sending"
    finally:
        sink.release()
        thread.join(timeout=30)
        sink.stop()
    assert results == {"a": "sent", "b": "busy"}
    assert len(sink.accepted) == 1
    assert OutboundEmail.objects.get(pk=message.pk).attempts == 1


class _CountingSink(SmtpSink):
    """Counts the SMTP sessions opened (one EHLO each)."""

    sessions: int = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.sessions += 1
        session.host_name = hostname
        return responses


@pytest.mark.django_db(transaction=True)
def test_a_workers_messages_share_one_smtp_connection_and_a_dead_one_is_replaced(settings):
    sink = _CountingSink().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = sink.host, sink.port
    settings.EMAIL_USE_TLS, settings.EMAIL_TIMEOUT = False, 10
    outbox._smtp_local.__dict__.clear()

    def send(n):
        message = outbox.outbox_enqueue(
            idempotency_key=f"test:reuse:{n}",
            to=["a@example.com"],
            subject=f"m{n}",
            text="x",
            schedule=False,  # sent below, by this "worker"
        )
        return outbox.outbox_send(message_id=message.pk)

    try:
        assert [send(n) for n in range(3)] == ["sent", "sent", "sent"]
        assert sink.sessions == 1  # one conversation per message, not one connection
        sink.stop()  # the server goes away: the open connection is dead
        restarted = _CountingSink(port=sink.port).start()
        try:
            assert send(3) == "retry"  # recorded and retried later, like any SMTP failure
            assert [send(n) for n in (4, 5)] == ["sent", "sent"]  # a fresh connection
            assert restarted.sessions == 1
        finally:
            restarted.stop()
    finally:
        outbox._smtp_local.__dict__.clear()
