"""Allocation, the status machine and replacements (single-threaded; see test_concurrency)."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from keys.models import KEY_MACHINE, Key, KeyEvent, KeyStatus
from keys.services import (
    KeyTransitionError,
    batch_quarantine,
    key_allocate,
    key_allocate_replacement,
    key_mark_defective,
    key_release,
    key_reveal,
    key_revoke_for_order,
    key_transition,
)
from tests.factories import KeyBatchFactory, UserFactory, keys_create
from tests.keys.conftest import order_line_new

pytestmark = pytest.mark.django_db


def test_allocation_delivers_keys_from_the_oldest_batch_first(win):
    now = timezone.now()
    new_batch = KeyBatchFactory(product=win, received_at=now)
    old_batch = KeyBatchFactory(product=win, received_at=now - timedelta(days=30))
    keys_create(product=win, count=2, batch=new_batch)
    old_keys = keys_create(product=win, count=2, batch=old_batch)
    line = order_line_new(product=win, quantity=2)

    result = key_allocate(order_line=line, quantity=2)

    assert result.ok and result.shortfall == 0
    assert {k.pk for k in result.keys} == {k.pk for k in old_keys}
    for key in Key.objects.filter(order_line=line):
        assert key.status == KeyStatus.DELIVERED and key.delivered_at is not None
        event = key.events.get()
        assert (event.from_status, event.to_status, event.order_id) == (
            "available",
            "delivered",
            line.order_id,
        )


def test_an_order_larger_than_the_oldest_batch_takes_the_rest_from_the_next_oldest(win):
    now = timezone.now()
    # created newest first, so batch ids run against the received order
    newest = KeyBatchFactory(product=win, received_at=now)
    middle = KeyBatchFactory(product=win, received_at=now - timedelta(days=10))
    oldest = KeyBatchFactory(product=win, received_at=now - timedelta(days=30))
    keys_create(product=win, count=3, batch=newest)
    middle_keys = keys_create(product=win, count=3, batch=middle)
    oldest_keys = keys_create(product=win, count=2, batch=oldest)
    line = order_line_new(product=win, quantity=4)

    result = key_allocate(order_line=line, quantity=4)

    assert result.ok
    sold = {k.pk for k in result.keys}
    assert sold == {k.pk for k in oldest_keys} | {k.pk for k in middle_keys[:2]}
    assert Key.objects.filter(batch=newest, status="available").count() == 3


def test_a_sold_out_oldest_batch_is_passed_over_for_the_next(win):
    now = timezone.now()
    old = KeyBatchFactory(product=win, received_at=now - timedelta(days=30))
    new = KeyBatchFactory(product=win, received_at=now)
    keys_create(product=win, count=1, batch=old)
    new_keys = keys_create(product=win, count=2, batch=new)
    assert key_allocate(order_line=order_line_new(product=win, quantity=1), quantity=1).ok

    result = key_allocate(order_line=order_line_new(product=win, quantity=2), quantity=2)

    assert result.ok and {k.pk for k in result.keys} == {k.pk for k in new_keys}


def test_short_stock_sells_nothing_and_says_how_many_are_missing(win):
    keys_create(product=win, count=2)
    line = order_line_new(product=win, quantity=3)

    result = key_allocate(order_line=line, quantity=3)

    assert not result.ok and result.out_of_stock
    assert result.shortfall == 1 and result.keys == []
    assert Key.objects.filter(status="available").count() == 2
    assert not KeyEvent.objects.exists()


def test_quarantined_and_expired_batches_are_never_allocated(win):
    today = timezone.localdate()
    quarantined = KeyBatchFactory(product=win)
    keys_create(product=win, count=2, batch=quarantined)
    batch_quarantine(batch=quarantined, reason="supplier recalled the batch", actor=None)
    keys_create(product=win, count=2, batch=KeyBatchFactory(product=win, expires_on=today))
    good = keys_create(
        product=win,
        count=1,
        batch=KeyBatchFactory(product=win, expires_on=today + timedelta(days=1)),
    )

    assert not key_allocate(order_line=order_line_new(product=win), quantity=2).ok
    result = key_allocate(order_line=order_line_new(product=win), quantity=1)
    assert [k.pk for k in result.keys] == [good[0].pk]


def test_allocating_again_for_the_same_line_never_allocates_twice(win):
    keys_create(product=win, count=5)
    line = order_line_new(product=win, quantity=2)

    first = key_allocate(order_line=line, quantity=2)
    second = key_allocate(order_line=line, quantity=2)

    assert first.ok and second.ok
    assert [k.pk for k in first.keys] == [k.pk for k in second.keys]
    assert Key.objects.filter(order_line=line).count() == 2
    assert Key.objects.filter(status="available").count() == 3


def test_reserved_keys_are_delivered_by_a_later_delivery_allocation(win):
    keys_create(product=win, count=3)
    line = order_line_new(product=win, quantity=2)

    held = key_allocate(order_line=line, quantity=2, status="reserved")
    assert {k.status for k in Key.objects.filter(order_line=line)} == {"reserved"}

    delivered = key_allocate(order_line=line, quantity=2, status="delivered")
    assert [k.pk for k in delivered.keys] == [k.pk for k in held.keys]
    assert {k.status for k in Key.objects.filter(order_line=line)} == {"delivered"}


def test_the_database_refuses_a_key_that_is_available_and_on_an_order_line(win):
    (key,) = keys_create(product=win, count=1)
    line = order_line_new(product=win)
    with pytest.raises(IntegrityError), transaction.atomic():
        Key.objects.filter(pk=key.pk).update(order_line=line)
    with pytest.raises(IntegrityError), transaction.atomic():
        Key.objects.filter(pk=key.pk).update(status="delivered", delivered_at=timezone.now())


def test_a_reserved_key_never_shown_goes_back_to_stock(win):
    keys_create(product=win, count=1)
    line = order_line_new(product=win)
    (key,) = key_allocate(order_line=line, quantity=1, status="reserved").keys
    staff = UserFactory(is_staff=True)

    key_release(key=key, actor=staff, reason="fraud hold cancelled")

    key.refresh_from_db()
    assert key.status == "available" and key.order_line_id is None
    assert key.events.last().actor == staff


def test_a_reserved_key_that_was_seen_never_returns_to_stock(win, revealer):
    keys_create(product=win, count=1)
    line = order_line_new(product=win)
    (key,) = key_allocate(order_line=line, quantity=1, status="reserved").keys
    key_reveal(key=key, channel="staff", ip="198.51.100.1", user_agent="UA", user=revealer)

    with pytest.raises(KeyTransitionError, match="never returns to stock"):
        key_release(key=key, actor=revealer, reason="hold cancelled")

    result = key_revoke_for_order(order=line.order, reason="order cancelled")
    key.refresh_from_db()
    assert key.status == "revoked" and result.released == []
    assert Key.objects.filter(status="available").count() == 0


def test_revoking_an_order_releases_unseen_reserved_keys_and_is_idempotent(win):
    keys_create(product=win, count=2)
    line = order_line_new(product=win, quantity=2)
    key_allocate(order_line=line, quantity=2, status="reserved")

    first = key_revoke_for_order(order=line.order, reason="refunded")
    second = key_revoke_for_order(order=line.order, reason="refunded")

    assert len(first.released) == 2 and first.revoked == []
    assert second.released == second.revoked == []
    assert Key.objects.filter(status="available").count() == 2


@pytest.mark.parametrize(
    ("start", "target"),
    [
        ("available", "revoked"),
        ("delivered", "available"),
        ("revoked", "delivered"),
        ("defective", "available"),
    ],
)
def test_the_status_machine_refuses_moves_it_does_not_allow(win, start, target):
    (key,) = keys_create(product=win, count=1)
    if start != "available":
        line = order_line_new(product=win)
        key_allocate(order_line=line, quantity=1)
        if start != "delivered":
            key_transition(key=key, to_status=start, reason="setup")
        key.refresh_from_db()
    events = KeyEvent.objects.count()
    with pytest.raises(KeyTransitionError):
        key_transition(key=key, to_status=target, reason="try")
    key.refresh_from_db()
    assert key.status == start and KeyEvent.objects.count() == events


def test_a_status_change_needs_a_reason(win):
    (key,) = keys_create(product=win, count=1)
    with pytest.raises(KeyTransitionError, match="reason"):
        key_mark_defective(key=key, actor=None, reason=" ")


def test_replacement_delivers_an_unused_key_of_the_same_product_to_the_same_line(win):
    keys_create(product=win, count=2)
    line = order_line_new(product=win)
    (failed,) = key_allocate(order_line=line, quantity=1).keys
    staff = UserFactory(is_staff=True)

    result = key_allocate_replacement(failed_key=failed, actor=staff, reason="confirmed defective")
    again = key_allocate_replacement(failed_key=failed, actor=staff, reason="confirmed defective")

    (new,) = result.keys
    new.refresh_from_db()
    failed.refresh_from_db()
    assert result.ok and again.keys == [new]
    assert (
        new.order_line_id == line.pk and new.replaces_id == failed.pk and new.status == "delivered"
    )
    assert failed.status == "defective"
    assert Key.objects.filter(status="available").count() == 0


def test_replacement_out_of_stock_changes_nothing(win):
    keys_create(product=win, count=1)
    line = order_line_new(product=win)
    (failed,) = key_allocate(order_line=line, quantity=1).keys

    result = key_allocate_replacement(failed_key=failed, actor=None, reason="defective")

    failed.refresh_from_db()
    assert not result.ok and result.shortfall == 1
    assert failed.status == "delivered"


def test_every_move_records_an_event_of_the_kind_named_by_where_the_key_went(win):
    keys_create(product=win, count=3)
    line = order_line_new(product=win, quantity=2)
    reserved = key_allocate(order_line=line, quantity=2, status=KeyStatus.RESERVED).keys
    key_release(key=reserved[0], actor=None, reason="fraud check failed")
    delivered = key_allocate(order_line=line, quantity=2).keys
    key_mark_defective(key=delivered[0], actor=None, reason="claim CL-9: invalid")

    kinds = list(KeyEvent.objects.order_by("id").values_list("kind", "from_status", "to_status"))

    K = KeyEvent.Kind
    assert kinds == [
        (K.RESERVED, "available", "reserved"),
        (K.RESERVED, "available", "reserved"),
        (K.RELEASED, "reserved", "available"),
        (K.DELIVERED, "reserved", "delivered"),
        (K.DELIVERED, "available", "delivered"),
        (K.DEFECTIVE, "delivered", "defective"),
    ]


def test_a_replacement_event_names_the_key_it_replaces_in_its_data(win):
    keys_create(product=win, count=2)
    line = order_line_new(product=win)
    (failed,) = key_allocate(order_line=line, quantity=1).keys

    (new,) = key_allocate_replacement(failed_key=failed, actor=None, reason="invalid").keys

    event = new.events.get()
    assert event.kind == KeyEvent.Kind.DELIVERED
    assert event.data == {"replaces_key_id": failed.pk}


def test_the_key_machine_offers_only_the_moves_its_table_allows(win):
    (key,) = keys_create(product=win, count=1)
    assert KEY_MACHINE.available_transitions(obj=key) == ["reserved", "delivered", "defective"]
    line = order_line_new(product=win)
    key_allocate(order_line=line, quantity=1)
    key.refresh_from_db()
    assert KEY_MACHINE.available_transitions(obj=key) == ["revoked", "defective"]
    key_transition(key=key, to_status="revoked", actor=None, reason="refunded")
    assert KEY_MACHINE.available_transitions(obj=key) == []
