"""The one state machine helper: moves as data, checked on a locked row, one event row."""

import pytest
from django.db import transaction

from core.statemachine import StateMachine, TransitionNotAllowed, row_lock
from orders.models import Order, OrderEvent
from tests.factories import OrderFactory

MACHINE = StateMachine(
    name="order",
    moves={
        "pending": frozenset({"paid", "cancelled"}),
        "paid": frozenset({"delivered"}),
        "delivered": frozenset(),
        "cancelled": frozenset(),
    },
)


def _event(order):
    return lambda from_status, to_status: OrderEvent(
        order=order, kind="status", from_status=from_status, to_status=to_status
    )


def test_a_table_that_moves_to_an_undeclared_status_is_refused_at_import():
    with pytest.raises(ValueError, match="undeclared"):
        StateMachine(name="broken", moves={"a": frozenset({"b"})})


def test_available_transitions_follow_the_declared_order():
    assert MACHINE.targets(from_status="pending") == ["paid", "cancelled"]
    assert MACHINE.targets(from_status="delivered") == []


@pytest.mark.django_db
def test_an_allowed_move_writes_the_status_the_changes_and_one_event():
    order = OrderFactory(status="pending")
    with transaction.atomic():
        locked = row_lock(model=Order, pk=order.pk)
        moved = MACHINE.transition(
            locked=locked,
            to_status="cancelled",
            event=_event(locked),
            changes={"email": "new@example.com"},
        )
    order.refresh_from_db()
    assert moved is True
    assert (order.status, order.email) == ("cancelled", "new@example.com")
    assert list(order.events.values_list("from_status", "to_status")) == [("pending", "cancelled")]


@pytest.mark.django_db
def test_a_move_the_table_lacks_is_refused_and_writes_nothing():
    order = OrderFactory(status="pending")
    with pytest.raises(TransitionNotAllowed) as refused, transaction.atomic():
        locked = row_lock(model=Order, pk=order.pk)
        MACHINE.transition(locked=locked, to_status="delivered", event=_event(locked))
    assert (refused.value.from_status, refused.value.to_status) == ("pending", "delivered")
    order.refresh_from_db()
    assert order.status == "pending"
    assert not order.events.exists()


@pytest.mark.django_db
def test_repeating_a_move_is_harmless_and_records_no_second_event():
    order = OrderFactory(status="pending")
    for _ in range(2):
        with transaction.atomic():
            locked = row_lock(model=Order, pk=order.pk)
            MACHINE.transition(locked=locked, to_status="cancelled", event=_event(locked))
    assert order.events.count() == 1


@pytest.mark.django_db
def test_events_can_be_collected_for_one_bulk_insert():
    order = OrderFactory(status="pending")
    collected = []
    with transaction.atomic():
        locked = row_lock(model=Order, pk=order.pk)
        MACHINE.transition(
            locked=locked, to_status="cancelled", event=_event(locked), events=collected
        )
        assert not order.events.exists()
        OrderEvent.objects.bulk_create(collected)
    assert order.events.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_transition_outside_a_transaction_is_refused():
    order = OrderFactory(status="pending")
    with pytest.raises(RuntimeError, match="outside a transaction"):
        MACHINE.transition(locked=order, to_status="paid", event=_event(order))
