"""The paid-order path's statements built by the ORM once per process (core.prepared):
each cached statement is the one the ORM builds from the same values (same SQL, same
parameters), and reads the same rows, on SQLite and PostgreSQL."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from core.identity import _IDENTITY_ROW
from core.models import SHOP_IDENTITY_PK
from invoices.services import INVOICE_OF_ORDER
from keys.services.allocation import HELD_LOCKED, _first_batch_query
from orders.models import OrderRisk, WebhookEvent
from orders.selectors import _velocity_query
from orders.services._prepared import (
    EVENT_LOCKED,
    EVENTS_DEFERRED,
    LINES_LOCKED,
    ORDER_LOCKED,
    ORDER_LOCKED_WITH_RISK,
    order_lines_locked,
    order_locked_get,
)
from orders.services.emails import _EMAIL_MARK_SENT, CONSENTS_OF_ORDER
from tests.factories import keys_create, order_new

pytestmark = pytest.mark.django_db

VELOCITY_SHAPES = [
    (labels, first_check)
    for labels in [(), ("email",), ("email", "IP"), ("email", "card"), ("email", "IP", "card")]
    for first_check in (False, True)
    if labels or first_check
]


@pytest.fixture
def order(stocked):
    order = order_new(product=stocked, email="Some.One@Example.com")
    order.purchase_ip = "203.0.113.9"
    order.save(update_fields=["purchase_ip"])
    return order


def _same(query, **values):
    assert query.sql_with_params(**values) == query.orm_sql_with_params(**values), query


def test_each_cached_statement_is_the_one_the_orm_builds(order):
    line = order.lines.get()
    with transaction.atomic():  # FOR UPDATE is compiled inside a transaction only
        _same(EVENT_LOCKED, pk=17)
        _same(ORDER_LOCKED, pk=order.pk)
        _same(ORDER_LOCKED_WITH_RISK, pk=order.pk)
        _same(LINES_LOCKED, order_id=order.pk)
        _same(EVENTS_DEFERRED, order_id=order.pk)
        _same(HELD_LOCKED, line_id=line.pk)
        _same(CONSENTS_OF_ORDER, order_id=order.pk)
        _same(INVOICE_OF_ORDER, order_id=order.pk)
        _same(_IDENTITY_ROW, pk=SHOP_IDENTITY_PK)
        _same(_EMAIL_MARK_SENT, pk=3, attempts=2, sent_at=timezone.now())
        for count in (1, 3):
            for lock in (False, True):
                query = _first_batch_query(count=count, lock=lock)
                _same(query, product_id=line.product_id, today=timezone.localdate())
        values = {"pk": order.pk, "since": timezone.now() - timedelta(hours=1),
                  "email": order.email, "ip": order.purchase_ip, "card": "fp_1"}  # fmt: skip
        for labels, first_check in VELOCITY_SHAPES:
            query = _velocity_query(labels=labels, first_check=first_check)
            _same(query, **{name: values[name] for name in query.param_names})


def test_the_locked_reads_return_what_the_orm_returns(order, stocked):
    keys_create(product=stocked, count=2)
    OrderRisk.objects.create(order=order, risk_level="normal", card_fingerprint="fp_1")
    WebhookEvent.objects.create(event_id="evt_1", type="refund.updated", payload={"a": [1]},
                                received_at=timezone.now(), order=order, status="deferred")  # fmt: skip
    with transaction.atomic():
        locked = order_locked_get(pk=str(order.pk), with_risk=True)
        assert locked is not None and locked.pk == order.pk
        assert locked.total == order.total and isinstance(locked.total, Decimal)
        assert locked.risk.card_fingerprint == "fp_1"
        assert order_locked_get(pk=order.pk).email == "Some.One@Example.com"
        lines = order_lines_locked(order=locked)
        assert [line.pk for line in lines] == list(order.lines.values_list("pk", flat=True))
        assert lines[0].order is locked and lines[0].product.pk == stocked.pk
        assert EVENTS_DEFERRED.fetch_values(order_id=order.pk) != []
        event = EVENT_LOCKED.fetch(pk=WebhookEvent.objects.get().pk)[0]
        assert event.payload == {"a": [1]} and event.order_id == order.pk
        first = _first_batch_query(count=1, lock=True).fetch(
            product_id=stocked.pk, today=timezone.localdate()
        )
        assert [k.pk for k in first] == [stocked.keys.order_by("id").first().pk]


def test_an_order_without_a_risk_row_reads_as_none(order):
    with transaction.atomic():
        locked = order_locked_get(pk=order.pk, with_risk=True)
        assert getattr(locked, "risk", None) is None
        assert order_locked_get(pk="00000000-0000-0000-0000-000000000000") is None


FIXED = timezone.now()


def _statements(write):
    """The SQL ``write()`` runs, at a fixed time, rolled back afterwards."""
    from unittest import mock

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with mock.patch("django.utils.timezone.now", return_value=FIXED), transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            write()
        transaction.set_rollback(True)
    return [q["sql"] for q in queries]


def test_the_paid_paths_rows_written_without_save_are_saves_own_statements(order):
    """Each row the paid-order path writes through core.prepared (row_insert/row_update)
    is written by the very statement ``save()`` runs for it."""
    from core.prepared import row_insert, row_update
    from orders.models import OrderEmail, OrderEvent

    order_row = lambda: type(order).objects.get(pk=order.pk)  # noqa: E731
    inserts = [
        lambda: OrderEvent(order=order, kind="status", from_status="pending", to_status="paid",
                           reason="payment confirmed", data={"a": 1}, created_at=FIXED),
        lambda: OrderRisk(order=order, risk_level="normal", card_fingerprint="fp_1"),
        lambda: OrderEmail(order=order, kind="delivery"),
        lambda: WebhookEvent(event_id="evt_same", type="checkout.session.completed",
                             payload={"id": "evt_same"}, received_at=FIXED),
    ]  # fmt: skip
    for make in inserts:
        assert _statements(lambda: row_insert(obj=make())) == _statements(
            lambda: make().save(force_insert=True)
        )
    for fields, change in (
        (["status", "paid_at", "gateway_payment_id"],
         {"status": "paid", "paid_at": timezone.now(), "gateway_payment_id": "pi_1"}),
        (["delivered_at", "status", "paid_at"],
         {"status": "delivered", "paid_at": FIXED, "delivered_at": timezone.now()}),
    ):  # fmt: skip

        def changed(change=change):
            row = order_row()
            for name, value in change.items():
                setattr(row, name, value)
            return row

        # the row is read first (not part of the write); the key is a placeholder of the
        # cached statement, which the ORM writes in parentheses: "= (%s)" for "= %s"
        fast = _statements(lambda: row_update(obj=changed(), fields=fields))[-1]
        by_save = _statements(lambda: changed().save(update_fields=fields))[-1]
        assert fast.startswith("UPDATE") and re.sub(r"= \((.*)\)$", r"= \1", fast) == by_save
