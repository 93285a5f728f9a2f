"""Approving a remedy other than the policy engine's recommendation needs a written
reason; it is kept in the claim's events and shown in the dispute evidence."""

import pytest

from refunds.models import ClaimEvent
from refunds.selectors import dispute_evidence_facts_get
from refunds.services import ClaimError, claim_approve_replacement, claim_verification_record
from tests.factories import claim_new


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_a_replacement_after_not_defective_needs_a_reason_kept_in_events_and_evidence(
    preset, delivered, agent
):
    from keys.models import Key

    order, key = delivered
    claim = claim_new(order=order, key=key)
    claim_verification_record(claim=claim, actor=agent, result="not_defective")
    available = Key.objects.filter(status="available").count()

    with pytest.raises(ClaimError, match="recommends reject"):
        claim_approve_replacement(claim=claim, actor=agent, note="  ")
    assert Key.objects.filter(status="available").count() == available  # nothing sent

    reason = "Issuer check was wrong: the customer's screenshot shows 0xC004C003."
    claim = claim_approve_replacement(claim=claim, actor=agent, note=reason)
    assert claim.status == "approved" and claim.remedy == "replace"
    event = ClaimEvent.objects.get(claim=claim, to_status="approved", kind="status")
    assert event.data["override"] == {
        "recommended": "reject",
        "recommended_clause": "novakeys.claim_procedure",
        "approved": "replace",
        "reason": reason,
    }
    text = dispute_evidence_facts_get(order=order)["uncategorized_text"]
    assert "staff approved replace" in text and reason in text


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_a_remedy_that_follows_the_recommendation_needs_no_reason(preset, delivered, agent):
    order, key = delivered
    claim = claim_new(order=order, key=key)
    claim_verification_record(claim=claim, actor=agent, result="confirmed_defective")
    claim = claim_approve_replacement(claim=claim, actor=agent)
    event = ClaimEvent.objects.get(claim=claim, to_status="approved", kind="status")
    assert "override" not in event.data
    assert "staff approved" not in dispute_evidence_facts_get(order=order)["uncategorized_text"]
