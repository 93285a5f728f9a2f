"""Chargebacks: charge.dispute.created (via the real signed webhook) marks the order
disputed and, where the preset says so, revokes its keys and suspends the account; the
customer is flagged; the evidence for digital goods is assembled for staff, who submit it
(to the Stripe stand-in, with an idempotency key). Later events update the status; a
replayed event changes nothing."""

import json
import time
import uuid

import pytest
from django.test import TestCase

from keys.models import Key
from refunds.models import Dispute, DisputeEvent
from refunds.services import dispute_event_handle, dispute_evidence_submit
from tests.orders.helpers import WEBHOOK_SECRET, post_event
from tests.staff import staff_login

from .conftest import preset_activate


def order_paid_under(*, slug: str, product, user):
    """An order bought under ``slug`` (all its checkout consents given), paid, delivered."""
    from orders.cart import cart_get
    from orders.services import (
        ConsentGiven,
        order_create_from_cart,
        payment_test_card_submit,
    )
    from policies.selectors import checkout_consents_get

    preset_activate(slug)
    consents = [
        ConsentGiven(
            kind=c.kind, text=c.wording, wording_version=c.wording_version, clause=c.clause_id
        )  # fmt: skip
        for c in checkout_consents_get(language="en")
    ]
    order = order_create_from_cart(
        cart=cart_get(session_cart={str(product.pk): 1}),
        billing_name="Alice Martin",
        email=user.email,
        language="en",
        user=user,
        ip="198.51.100.23",
        user_agent="Mozilla/5.0 (checkout)",
        consents=consents,
    )
    order.gateway_session_id = f"test_cs_{order.pk.hex}"
    order.save(update_fields=["gateway_session_id"])
    with TestCase.captureOnCommitCallbacks(execute=True):
        payment_test_card_submit(
            session_id=order.gateway_session_id, card_number="4242424242424242"
        )
    order.refresh_from_db()
    return order


def dispute_event(order, *, type="charge.dispute.created", status="needs_response",
                  dispute_id="dp_test_1", event_id=None):  # fmt: skip
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:20]}",
        "object": "event",
        "type": type,
        "created": int(time.time()),
        "data": {
            "object": {
                "id": dispute_id,
                "object": "dispute",
                "amount": 2990,
                "currency": "eur",
                "charge": "ch_test_1",
                "payment_intent": order.gateway_payment_id,
                "reason": "fraudulent",
                "status": status,
                "evidence_details": {"due_by": int(time.time()) + 7 * 86400},
            }
        },
    }


@pytest.fixture
def akm_order(stocked, customer, settings):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    order = order_paid_under(slug="allkeymasters", product=stocked, user=customer)
    assert order.status == "delivered" and order.policy_preset == "allkeymasters"
    key = Key.objects.get(order_line__order=order)
    from keys.services import key_reveal

    key_reveal(key=key, channel="account", ip="198.51.100.23", user_agent="Firefox/130",
               user=customer)  # fmt: skip
    return order


def test_a_chargeback_under_allkeymasters_revokes_suspends_flags_and_assembles_evidence(
    client, akm_order, customer, django_capture_on_commit_callbacks
):
    payload = json.dumps(dispute_event(akm_order))
    with django_capture_on_commit_callbacks(execute=True):
        response = post_event(client, payload)
    assert response.status_code == 200
    akm_order.refresh_from_db()
    customer.refresh_from_db()
    dispute = Dispute.objects.get()
    assert akm_order.status == "disputed"
    assert set(
        Key.objects.filter(order_line__order=akm_order).values_list("status", flat=True)
    ) == {"revoked"}
    assert customer.is_suspended and "allkeymasters.chargebacks" in customer.suspended_reason
    assert customer.is_flagged
    assert (dispute.status, dispute.reason, str(dispute.amount)) == (
        "needs_response",
        "fraudulent",
        "29.90",
    )

    evidence = dispute.evidence
    assert evidence["customer_email_address"] == customer.email
    assert evidence["customer_name"] == "Alice Martin"
    assert evidence["customer_purchase_ip"] == "198.51.100.23"
    assert "shown via account to IP 198.51.100.23" in evidence["access_activity_log"]
    assert "Firefox/130" in evidence["access_activity_log"]
    assert "shown via email" in evidence["access_activity_log"]  # the delivery email
    assert evidence["service_date"] == akm_order.delivered_at.strftime("%Y-%m-%d")
    assert "Windows 11 Pro" in evidence["product_description"]
    disclosure = evidence["refund_policy_disclosure"]
    assert "version 1" in disclosure and "/policies/refund/" in disclosure
    assert "withdrawal" in disclosure.lower() and "198.51.100.23" in disclosure


def test_a_replayed_dispute_event_changes_nothing(
    client, akm_order, django_capture_on_commit_callbacks
):
    payload = json.dumps(dispute_event(akm_order, event_id="evt_same"))
    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, payload)
    before = (
        list(DisputeEvent.objects.values_list("id", "kind")),
        list(Dispute.objects.values_list("status", "updated_at")),
    )
    # The same event straight to the handler (as a retried webhook would be), twice.
    dispute_event_handle(event=json.loads(payload))
    dispute_event_handle(event=json.loads(payload))
    after = (
        list(DisputeEvent.objects.values_list("id", "kind")),
        list(Dispute.objects.values_list("status", "updated_at")),
    )
    assert before == after
    # A redelivery with a new event id but the same state: no new status row either.
    dispute_event_handle(event=dispute_event(akm_order))
    changes = [e for e in DisputeEvent.objects.all() if not e.data.get("no_change")]
    assert len(changes) == len(before[0])
    assert Dispute.objects.get().status == "needs_response"


def test_later_events_update_the_status_once_each(akm_order):
    dispute_event_handle(event=dispute_event(akm_order))
    dispute_event_handle(event=dispute_event(akm_order, type="charge.dispute.funds_withdrawn"))
    dispute = Dispute.objects.get()
    assert dispute.funds_withdrawn
    dispute_event_handle(event=dispute_event(akm_order, type="charge.dispute.updated",
                                             status="under_review"))  # fmt: skip
    dispute_event_handle(event=dispute_event(akm_order, type="charge.dispute.closed", status="won"))
    dispute_event_handle(event=dispute_event(akm_order, type="charge.dispute.funds_reinstated",
                                             status="won"))  # fmt: skip
    dispute.refresh_from_db()
    assert dispute.status == "won" and not dispute.funds_withdrawn
    moves = list(dispute.events.exclude(kind="opened_actions").values_list("to_status", flat=True))
    assert moves == ["needs_response", "needs_response", "under_review", "won", "won"]


@pytest.mark.parametrize("slug", ["windowskeymart", "microprokey", "antimart", "novakeys"])
def test_presets_without_chargeback_rules_flag_but_do_not_revoke_or_suspend(
    slug, stocked, customer
):
    order = order_paid_under(slug=slug, product=stocked, user=customer)
    dispute_event_handle(event=dispute_event(order))
    order.refresh_from_db()
    customer.refresh_from_db()
    assert order.status == "disputed"
    assert customer.is_flagged and not customer.is_suspended
    assert Key.objects.get(order_line__order=order).status == "delivered"
    assert Dispute.objects.get().evidence["customer_email_address"] == customer.email


def test_staff_submit_the_evidence_with_the_test_gateway_recorded_locally(akm_order, manager):
    dispute = dispute_event_handle(event=dispute_event(akm_order))
    dispute = dispute_evidence_submit(dispute=dispute, actor=manager)
    assert dispute.submitted_at is not None and dispute.submission_gateway == "test"
    again = dispute_evidence_submit(dispute=dispute, actor=manager)
    assert again.submitted_at == dispute.submitted_at
    assert dispute.events.filter(kind="evidence_submitted").count() == 1


def test_support_staff_cannot_submit_dispute_evidence(akm_order, agent):
    from django.core.exceptions import PermissionDenied

    dispute = dispute_event_handle(event=dispute_event(akm_order))
    with pytest.raises(PermissionDenied):
        dispute_evidence_submit(dispute=dispute, actor=agent)


def test_evidence_goes_to_stripe_once_with_an_idempotency_key(
    transactional_db, akm_order, manager, stripe_on
):
    from orders.models import Order

    Order.objects.filter(pk=akm_order.pk).update(gateway="stripe")
    dispute = dispute_event_handle(event=dispute_event(akm_order, dispute_id="dp_stripe_1"))
    stripe_on.disputes["dp_stripe_1"] = {"id": "dp_stripe_1", "object": "dispute",
                                         "status": "needs_response"}  # fmt: skip
    stripe_on.stall_count, stripe_on.stall_seconds = 1, 1.6  # first answer lost
    from django.conf import settings

    settings.ORDERS_STRIPE_TIMEOUT_SECONDS = 1
    dispute = dispute_evidence_submit(dispute=dispute, actor=manager)
    calls = stripe_on.calls("POST", "/v1/disputes/dp_stripe_1")
    assert len(calls) == 2 and len({c.idempotency_key for c in calls}) == 1
    assert calls[0].idempotency_key == f"keystore-dispute-{dispute.pk}-evidence"
    assert calls[0].params["submit"] == "true"
    sent = calls[0].params["evidence"]
    assert sent["customer_purchase_ip"] == "198.51.100.23"
    assert "shown via account" in sent["access_activity_log"]
    assert dispute.submitted_at is not None and dispute.submission_gateway == "stripe"
    dispute_evidence_submit(dispute=dispute, actor=manager)
    assert len(stripe_on.calls("POST", "/v1/disputes/")) == 2


def test_the_admin_shows_the_evidence_and_staff_submit_it(client, akm_order, manager):
    dispute = dispute_event_handle(event=dispute_event(akm_order))
    staff_login(client=client, user=manager)
    from django.contrib.auth.models import Permission

    manager.user_permissions.add(*Permission.objects.filter(content_type__app_label="refunds",
                                                            codename__in=["view_dispute", "change_dispute"]))  # fmt: skip
    page = client.get(f"/admin/refunds/dispute/{dispute.pk}/change/")
    assert page.status_code == 200
    assert "198.51.100.23" in page.content.decode()
    response = client.post(f"/admin/refunds/dispute/{dispute.pk}/act/submit/")
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert dispute.submitted_by == manager


def test_a_stripe_status_outside_the_lifecycle_is_still_applied_and_flagged(akm_order):
    """Stripe's events may arrive out of order: a dispute already won that Stripe reports
    under review again takes Stripe's status, and its event says the move was unexpected."""
    dispute_event_handle(event=dispute_event(akm_order))
    dispute_event_handle(event=dispute_event(akm_order, type="charge.dispute.closed", status="won"))
    dispute_event_handle(event=dispute_event(akm_order, type="charge.dispute.updated",
                                             status="under_review"))  # fmt: skip
    dispute = Dispute.objects.get()
    assert dispute.status == "under_review"
    won, late = dispute.events.filter(kind__startswith="charge.dispute.").order_by("id")[1:]
    assert (won.from_status, won.to_status) == ("needs_response", "won")
    assert not won.data.get("outside_lifecycle")
    assert (late.from_status, late.to_status) == ("won", "under_review")
    assert late.data["outside_lifecycle"] is True


def test_dispute_event_kinds_are_the_declared_ones(akm_order, manager):
    from refunds.models import DisputeEventKind

    dispute_event_handle(event=dispute_event(akm_order))
    dispute_event_handle(event=dispute_event(akm_order, type="charge.dispute.funds_withdrawn"))
    dispute_evidence_submit(dispute=Dispute.objects.get(), actor=manager)
    kinds = set(DisputeEvent.objects.values_list("kind", flat=True))
    assert kinds == {
        DisputeEventKind.CREATED,
        DisputeEventKind.OPENED_ACTIONS,
        DisputeEventKind.FUNDS_WITHDRAWN,
        DisputeEventKind.EVIDENCE_SUBMITTED,
    }
