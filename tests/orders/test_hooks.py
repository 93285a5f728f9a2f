"""orders.hooks: apps above orders are told, after commit, that an order became paid and
that a refund succeeded, once per change; a rolled-back change tells nobody."""

import pytest
from django.db import transaction
from django.test import TestCase

from orders import hooks
from orders.services import order_refund, payment_test_card_submit
from tests.factories import order_new

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls():
    seen: list[tuple[str, object]] = []

    def paid(*, order_id):
        seen.append(("paid", order_id))

    def refunded(*, refund_id):
        seen.append(("refund", refund_id))

    hooks.hook_register(registry=hooks.order_paid_hooks, hook=paid)
    hooks.hook_register(registry=hooks.order_paid_hooks, hook=paid)  # once only
    hooks.hook_register(registry=hooks.refund_succeeded_hooks, hook=refunded)
    yield seen
    hooks.order_paid_hooks.remove(paid)
    hooks.refund_succeeded_hooks.remove(refunded)


def test_paid_hook_runs_once_after_commit_and_not_for_a_repeated_confirmation(
    calls, stocked, antimart
):
    order = order_new(product=stocked)
    with TestCase.captureOnCommitCallbacks(execute=False) as callbacks:
        payment_test_card_submit(
            session_id=order.gateway_session_id, card_number="4242424242424242"
        )
    assert calls == []  # nothing before commit
    for callback in callbacks:
        callback()
    assert calls.count(("paid", str(order.pk))) == 1
    with TestCase.captureOnCommitCallbacks(execute=True):
        payment_test_card_submit(
            session_id=order.gateway_session_id, card_number="4242424242424242"
        )
    assert calls.count(("paid", str(order.pk))) == 1


def test_refund_hook_runs_when_the_refund_succeeds_and_not_on_rollback(calls, stocked, antimart):
    order = order_new(product=stocked)
    with TestCase.captureOnCommitCallbacks(execute=True):
        payment_test_card_submit(
            session_id=order.gateway_session_id, card_number="4242424242424242"
        )
    with TestCase.captureOnCommitCallbacks(execute=True):
        refund = order_refund(order=order, reason="claim", reference="CL-1", revoke_keys=False)
    assert refund.status == "succeeded"
    assert ("refund", refund.pk) in calls
    before = list(calls)
    with (
        TestCase.captureOnCommitCallbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        hooks.hooks_run_on_commit(registry=hooks.refund_succeeded_hooks, refund_id=0)
        raise RuntimeError("rolled back")
    assert calls == before
