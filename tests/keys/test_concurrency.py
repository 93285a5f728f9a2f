"""Hundreds of buyers for the last keys, on PostgreSQL with real threads and connections.

PostgreSQL's default max_connections is 100 (shared with the test runner and anything
else), so all buyers start together behind a barrier and at most CONNECTIONS of them hold
a connection at the same moment; each buyer opens its own and closes it.
"""

import random
import threading

import pytest
from django.db import connections

from keys.models import Key, KeyEvent
from keys.services import key_allocate
from tests.factories import ProductFactory, keys_create
from tests.keys.conftest import order_line_new

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BUYERS = 200
KEYS = 50
CONNECTIONS = 40


def stampede(lines_and_quantities):
    results, errors = {}, []
    barrier = threading.Barrier(len(lines_and_quantities))
    gate = threading.Semaphore(CONNECTIONS)

    def buy(line, quantity):
        try:
            barrier.wait()
            with gate:
                try:
                    results[line.pk] = key_allocate(order_line=line, quantity=quantity)
                finally:
                    connections.close_all()
        except Exception as exc:  # collected and asserted empty below
            errors.append(exc)

    threads = [threading.Thread(target=buy, args=pair) for pair in lines_and_quantities]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a buyer hung"
    return results, errors


def test_200_buyers_for_50_keys_sell_exactly_50_and_none_twice():
    product = ProductFactory(key_format="", low_stock_threshold=0)
    keys_create(product=product, count=KEYS)
    lines = [(order_line_new(product=product), 1) for _ in range(BUYERS)]

    results, errors = stampede(lines)

    assert errors == []
    sold = [k.pk for r in results.values() if r.ok for k in r.keys]
    refused = [r for r in results.values() if not r.ok]
    assert len(sold) == KEYS and len(set(sold)) == KEYS
    assert len(refused) == BUYERS - KEYS
    assert all(r.shortfall == 1 and r.keys == [] for r in refused)
    assert Key.objects.filter(status="delivered").count() == KEYS
    assert Key.objects.filter(status="available").count() == 0
    assert KeyEvent.objects.count() == KEYS  # one event per key sold, none for refusals


def test_mixed_quantities_sell_whole_orders_only_and_never_turn_away_a_buyer_who_fits():
    product = ProductFactory(key_format="", low_stock_threshold=0)
    keys_create(product=product, count=KEYS)
    rng = random.Random(7)
    wanted = {}
    lines = []
    for _ in range(BUYERS):
        quantity = rng.randint(1, 3)
        line = order_line_new(product=product, quantity=quantity)
        wanted[line.pk] = quantity
        lines.append((line, quantity))

    results, errors = stampede(lines)

    assert errors == []
    sold = [k.pk for r in results.values() if r.ok for k in r.keys]
    assert len(sold) == len(set(sold))
    for line_pk, result in results.items():
        held = Key.objects.filter(order_line_id=line_pk).count()
        assert held == (wanted[line_pk] if result.ok else 0)  # all or nothing
    left = Key.objects.filter(status="available").count()
    assert left + len(sold) == KEYS
    refused = [wanted[pk] for pk, r in results.items() if not r.ok]
    assert refused, "the stampede should run out of stock"
    assert left < min(refused)  # nobody was refused while their quantity was still in stock


def allocate_while_another_holds(*, held, line, quantity, hold_until_served, statements=None):
    """``key_allocate`` for ``line`` in one thread while another transaction holds the
    ``held`` keys locked (a buyer still paying). The holder lets go after 0.5 s, rolled back
    (e.g. its payment check failed), or, with ``hold_until_served``, only once the buyer
    has its answer (so the buyer cannot have waited for it). Returns the buyer's result;
    the SQL it ran goes into ``statements`` when given."""
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext

    holding, served = threading.Event(), threading.Event()
    outcome = {}

    def holder():
        try:
            with transaction.atomic():
                list(Key.objects.select_for_update().filter(pk__in=[k.pk for k in held]))
                holding.set()
                if hold_until_served:
                    served.wait(30)
                else:
                    threading.Event().wait(0.5)
                transaction.set_rollback(True)
        finally:
            connections.close_all()

    def buyer():
        try:
            holding.wait(5)
            with CaptureQueriesContext(connections["default"]) as queries:
                outcome["result"] = key_allocate(order_line=line, quantity=quantity)
            if statements is not None:
                statements.extend(q["sql"] for q in queries.captured_queries)
        finally:
            served.set()
            connections.close_all()

    threads = [threading.Thread(target=holder), threading.Thread(target=buyer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcome["result"]


def test_keys_briefly_held_by_an_abandoned_attempt_are_still_sold_to_the_next_buyer():
    """SKIP LOCKED alone would call this out of stock; the buyer waits for the lock instead."""
    product = ProductFactory(key_format="", low_stock_threshold=0)
    keys = keys_create(product=product, count=3)
    line = order_line_new(product=product, quantity=3)

    result = allocate_while_another_holds(
        held=keys[:2], line=line, quantity=3, hold_until_served=False
    )

    assert result.ok
    assert sorted(k.pk for k in result.keys) == sorted(k.pk for k in keys)


def test_a_buyer_takes_the_next_batch_at_once_while_another_holds_the_oldest():
    """SKIP LOCKED across batches: keys of the oldest batch held by a buyer still paying are
    passed over for the next batch's without waiting for that buyer."""
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import KeyBatchFactory

    product = ProductFactory(key_format="", low_stock_threshold=0)
    old = KeyBatchFactory(product=product, received_at=timezone.now() - timedelta(days=3))
    new = KeyBatchFactory(product=product, received_at=timezone.now())
    old_keys = keys_create(product=product, count=2, batch=old)
    new_keys = keys_create(product=product, count=2, batch=new)
    line = order_line_new(product=product, quantity=2)

    result = allocate_while_another_holds(
        held=old_keys, line=line, quantity=2, hold_until_served=True
    )

    assert result.ok
    assert sorted(k.pk for k in result.keys) == sorted(k.pk for k in new_keys)


def test_a_one_key_buyer_waits_for_the_last_key_held_by_an_abandoned_attempt_and_gets_it():
    """The usual sale (one key) runs without a savepoint: its SKIP LOCKED read found the
    only key held, locked nothing, and waits for it; the key comes back and is sold."""
    product = ProductFactory(key_format="", low_stock_threshold=0)
    (key,) = keys_create(product=product, count=1)
    line = order_line_new(product=product, quantity=1)
    statements: list[str] = []

    result = allocate_while_another_holds(
        held=[key], line=line, quantity=1, hold_until_served=False, statements=statements
    )

    assert result.ok
    assert [k.pk for k in result.keys] == [key.pk]
    sale = statements[: statements.index("COMMIT")]  # then the low-stock check
    assert not [sql for sql in sale if "SAVEPOINT" in sql.upper()]
    # it did find the key held first (SKIP LOCKED), then waited for it (no SKIP LOCKED)
    locks = [sql for sql in sale if "FOR UPDATE" in sql and "keys_key" in sql]
    assert any("SKIP LOCKED" in sql for sql in locks)
    assert any("SKIP LOCKED" not in sql for sql in locks[1:])
