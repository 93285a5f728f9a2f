"""A claim refund reaches the (stand-in) Stripe API exactly once, with our fixed
idempotency key, even when the answer is lost and the call is retried."""

from decimal import Decimal

import pytest
from django.core import mail

from refunds.models import Claim
from refunds.services import ClaimError, claim_approve_refund, claim_verification_record
from tests.factories import claim_new

from .conftest import preset_activate


def refund_posts(standin):
    return standin.calls("POST", "/v1/refunds")


def test_claim_refund_after_a_lost_answer_is_one_refund_at_stripe(
    transactional_db, stripe_delivered, stripe_on, agent
):
    preset_activate("novakeys")
    order, key = stripe_delivered
    from keys.models import Key

    Key.objects.filter(status="available").update(status="defective")  # no replacement
    claim = claim_new(order=order, key=key)
    claim = claim_verification_record(claim=claim, actor=agent, result="confirmed_defective")

    # Every answer of the first attempt (and the library's own retries) is lost after
    # Stripe did the work: the staff member sees an error, the claim stays open.
    stripe_on.stall_count, stripe_on.stall_seconds = 3, 1.6
    with pytest.raises(ClaimError, match="try again"):
        claim_approve_refund(claim=claim, actor=agent)
    claim.refresh_from_db()
    assert claim.is_open and claim.refund_requested_at is not None
    assert len(stripe_on.refunds) == 1  # Stripe did refund once

    # Staff press the button again: the same request, the same key, still one refund.
    mail.outbox.clear()
    claim = claim_approve_refund(claim=claim, actor=agent, amount=Decimal("1.00"))
    posts = refund_posts(stripe_on)
    assert len(posts) >= 2
    assert len({p.idempotency_key for p in posts}) == 1
    assert len(stripe_on.refunds) == 1
    (refund,) = stripe_on.refunds.values()
    assert refund["amount"] == 2990  # the amount fixed on the first request, not 1.00
    assert refund["payment_intent"] == order.gateway_payment_id
    claim.refresh_from_db()
    key.refresh_from_db()
    order.refresh_from_db()
    assert claim.status == "approved" and claim.remedy == "refund"
    assert key.status == "revoked" and order.status == "refunded"
    assert any(m.to == [order.email] and "refund" in m.subject.lower() for m in mail.outbox)

    # A third click on a decided claim changes nothing and calls nobody.
    with pytest.raises(ClaimError):
        claim_approve_refund(claim=Claim.objects.get(pk=claim.pk), actor=agent)
    assert len(refund_posts(stripe_on)) == len(posts)


def test_a_timeout_inside_one_call_is_retried_by_the_library_with_the_same_key(
    transactional_db, stripe_delivered, stripe_on, agent
):
    preset_activate("allkeymasters")
    order, key = stripe_delivered
    claim = claim_new(order=order, key=None, reason="double_charge",
                      description="Charged twice")  # fmt: skip
    stripe_on.stall_count, stripe_on.stall_seconds = 1, 1.6
    claim = claim_approve_refund(claim=claim, actor=agent)
    posts = refund_posts(stripe_on)
    assert len(posts) == 2 and posts[0].idempotency_key == posts[1].idempotency_key
    assert len(stripe_on.refunds) == 1
    assert claim.remedy == "refund" and claim.decision_clause == "allkeymasters.double_payment"
    key.refresh_from_db()
    assert key.status == "delivered"  # a double charge refunds money, not the key
