"""orders.hooks: apps above orders are told, after commit, that an order became paid and
that a refund succeeded, once per change; a rolled-back change tells nobody."""

import pytest
from django.db import transaction
from django.test import TestCase
from django.utils import timezone

from orders import hooks
from orders.models import WebhookEvent
from orders.selectors import TimelineItem, order_timeline_get
from orders.services import order_refund, payment_test_card_submit, webhook_event_process
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


# --- registries filled by apps above orders (refunds) ----------------------------------------


def test_without_a_dispute_handler_a_dispute_event_is_kept_ignored_for_a_later_replay(
    monkeypatch, stocked, antimart
):

    monkeypatch.setattr(hooks, "dispute_event_handlers", [])
    monkeypatch.setattr("orders.services.webhook.dispute_event_handlers", [])
    event = WebhookEvent.objects.create(
        event_id="evt_dp_none",
        type="charge.dispute.created",
        payload={
            "id": "evt_dp_none",
            "type": "charge.dispute.created",
            "data": {"object": {"id": "dp_1"}},
        },  # fmt: skip
        received_at=timezone.now(),
    )
    assert webhook_event_process(event_pk=event.pk) == "ignored"
    event.refresh_from_db()
    assert event.status == "ignored" and event.error == "no dispute event handler"


def test_a_handler_raising_dispute_order_unknown_defers_the_event_on_the_order_it_names(
    monkeypatch, stocked, antimart
):

    order = order_new(product=stocked)

    def waiting(*, event):
        raise hooks.DisputeOrderUnknown("not paid yet", order=order)

    monkeypatch.setattr("orders.services.webhook.dispute_event_handlers", [waiting])
    event = WebhookEvent.objects.create(
        event_id="evt_dp_wait",
        type="charge.dispute.created",
        payload={
            "id": "evt_dp_wait",
            "type": "charge.dispute.created",
            "data": {"object": {"id": "dp_2"}},
        },  # fmt: skip
        received_at=timezone.now(),
    )
    assert webhook_event_process(event_pk=event.pk) == "deferred"
    event.refresh_from_db()
    assert event.status == "deferred" and event.order_id == order.pk


def test_the_refunds_app_registers_its_dispute_handler_and_claims_timeline():
    assert len(hooks.dispute_event_handlers) == 1
    assert len(hooks.order_timeline_sources) == 1


def test_a_timeline_source_adds_its_items_to_the_order_timeline(monkeypatch, stocked, antimart):

    order = order_new(product=stocked)
    item = TimelineItem(timezone.now(), "claim", "CL-TEST · defective · open")
    monkeypatch.setattr("orders.selectors.order_timeline_sources", [lambda *, order: [item]])
    assert item in order_timeline_get(order=order)
