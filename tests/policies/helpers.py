"""Building claim cases for engine tests: a delivered, viewed, unactivated key by default."""

from __future__ import annotations

from datetime import datetime, timedelta

from policies.engine import ClaimCase, Decision, claim_decide
from policies.rules import preset_rules_shipped

PURCHASED = datetime.fromisoformat("2026-03-02T10:00:00+00:00")


def make_case(*, days_after_purchase: float = 2, **overrides) -> ClaimCase:
    fields = {
        "now": PURCHASED + timedelta(days=days_after_purchase),
        "purchased_at": PURCHASED,
        "delivered_at": PURCHASED + timedelta(seconds=40),
        "first_viewed_at": PURCHASED + timedelta(minutes=2),
        "activated": False,
        "reason": "key_invalid",
        "failed_at": None,
        "verification": "confirmed_defective",
        "replacements_given": 0,
        "replacement_in_stock": True,
        "support_exhausted": False,
    }
    fields.update(overrides)
    return ClaimCase(**fields)


def decide(slug: str, **overrides) -> Decision:
    decision = claim_decide(case=make_case(**overrides), preset=preset_rules_shipped(slug))
    assert decision.clause.startswith(f"{slug}."), decision
    assert decision.explanation.endswith("."), decision
    return decision


def outcome(slug: str, **overrides) -> str:
    return decide(slug, **overrides).outcome
