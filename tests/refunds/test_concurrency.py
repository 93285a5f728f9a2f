"""Two staff members clicking the same button at once, and two browsers filing the same
claim at once: the database decides, once (PostgreSQL, real threads)."""

import threading

import pytest
from django.db import connection

from keys.models import Key
from refunds.models import Claim
from refunds.services import ClaimError, claim_approve_replacement
from tests.factories import claim_new
from tests.waiting import wait_until

from .conftest import preset_activate, staff_with

pytestmark = pytest.mark.postgres

# Refunding where the policy recommends a replacement is an override: staff say why.
OVERRIDE_NOTE = "customer asked for their money back; manager agreed"


def run_together(*calls):
    """Start every call at the same moment in its own thread (own DB connection)."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def runner(i, call):
        try:
            barrier.wait()
            results[i] = ("ok", call())
        except Exception as exc:
            results[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_two_agents_approving_the_same_replacement_send_one_key(transactional_db, delivered):
    preset_activate("windowskeymart")
    order, key = delivered
    claim = claim_new(order=order, key=key)
    a = staff_with("decide_claim", email="a@example.com")
    b = staff_with("decide_claim", email="b@example.com")
    results = run_together(
        lambda: claim_approve_replacement(claim=Claim.objects.get(pk=claim.pk), actor=a),
        lambda: claim_approve_replacement(claim=Claim.objects.get(pk=claim.pk), actor=b),
    )
    outcomes = sorted(r[0] for r in results)
    assert outcomes == ["error", "ok"], results
    assert all(isinstance(r[1], ClaimError) for r in results if r[0] == "error")
    assert Key.objects.filter(replaces=key).count() == 1
    claim.refresh_from_db()
    assert claim.status == "approved"
    assert claim.events.filter(to_status="approved").count() == 1


def test_two_tabs_filing_a_claim_for_the_same_key_make_one_claim(transactional_db, delivered):
    preset_activate("novakeys")
    order, key = delivered
    results = run_together(
        lambda: claim_new(order=order, key=key),
        lambda: claim_new(order=order, key=key),
        lambda: claim_new(order=order, key=key),
    )
    assert sorted(r[0] for r in results) == ["error", "error", "ok"], results
    assert all(isinstance(r[1], ClaimError) for r in results if r[0] == "error"), results
    assert Claim.objects.filter(key=key).count() == 1


def _refund_and_replacement_race(*, claim, stripe_on, wait_for_stripe: bool):
    """Agent a refunds the claim while agent b sends a replacement for the same key."""
    from refunds.services import claim_approve_refund

    a = staff_with("decide_claim", email="a@example.com")
    b = staff_with("decide_claim", email="b@example.com")

    def refund():
        return claim_approve_refund(
            claim=Claim.objects.get(pk=claim.pk), actor=a, note=OVERRIDE_NOTE
        )

    def replace():
        if wait_for_stripe:  # press the button while the refund is at Stripe
            wait_until(
                lambda: stripe_on.calls("POST", "/v1/refunds"),
                timeout=10,
                what="the refund to reach Stripe",
                interval=0.01,
            )
        return claim_approve_replacement(claim=Claim.objects.get(pk=claim.pk), actor=b)

    return run_together(refund, replace)


def _one_remedy(*, claim, key, results):
    from orders.models import Refund

    assert sorted(r[0] for r in results) == ["error", "ok"], results
    assert all(isinstance(r[1], ClaimError) for r in results if r[0] == "error"), results
    claim.refresh_from_db()
    key.refresh_from_db()
    replacements = Key.objects.filter(replaces=key)
    refunds = Refund.objects.filter(order=claim.order)
    if claim.remedy == "refund":
        assert not replacements.exists() and refunds.count() == 1
        assert key.status == "revoked"
    else:
        assert claim.remedy == "replace" and not refunds.exists()
        assert replacements.get().status == "delivered" and key.status == "defective"
    return claim.remedy


def test_a_replacement_sent_while_the_refund_is_at_stripe_is_refused(
    transactional_db, stripe_delivered, stripe_on
):
    preset_activate("windowskeymart")
    order, key = stripe_delivered
    claim = claim_new(order=order, key=key)
    stripe_on.stall_count, stripe_on.stall_seconds = 1, 0.5  # Stripe answers slowly
    results = _refund_and_replacement_race(claim=claim, stripe_on=stripe_on, wait_for_stripe=True)
    assert _one_remedy(claim=claim, key=key, results=results) == "refund"


def test_a_refund_and_a_replacement_pressed_at_once_give_exactly_one_remedy(
    transactional_db, stripe_delivered, stripe_on
):
    preset_activate("windowskeymart")
    order, key = stripe_delivered
    claim = claim_new(order=order, key=key)
    results = _refund_and_replacement_race(claim=claim, stripe_on=stripe_on, wait_for_stripe=False)
    _one_remedy(claim=claim, key=key, results=results)
