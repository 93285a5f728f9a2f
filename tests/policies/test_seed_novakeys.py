"""NovaKeys Store (seed 004_128db028492a3e69.txt), clause by clause."""

from datetime import timedelta

from .helpers import PURCHASED, decide, outcome

SLUG = "novakeys"


def test_covered_failures_verified_then_replaced():
    """03. "the issuing platform reports it as invalid, already redeemed, or expired before the
    printed expiry"; "Our default remedy is replacement with an equivalent unused code." """
    for reason in ("key_invalid", "key_already_used", "code_expired"):
        d = decide(SLUG, reason=reason, failed_at=PURCHASED + timedelta(days=1))
        assert (d.outcome, d.clause) == ("replace", "novakeys.remedy"), reason


def test_window_counts_from_the_failure_not_the_purchase():
    """03. "open a claim within seven (7) days of the failure" """
    failed = PURCHASED + timedelta(days=30)
    assert outcome(SLUG, failed_at=failed, now=failed + timedelta(days=6)) == "replace"
    d = decide(SLUG, failed_at=failed, now=failed + timedelta(days=8))
    assert (d.outcome, d.clause) == ("reject", "novakeys.claim_procedure")


def test_verification_within_two_business_days_riyadh():
    """03. "We verify the code's status against the issuing platform within two (2) business
    days."; hours "Sun-Thu 09:00-17:00 Asia/Riyadh". Thursday 16:00 Riyadh -> Monday 16:00."""
    now = PURCHASED.replace(day=5, hour=13)  # Thu 2026-03-05 13:00 UTC = 16:00 Riyadh
    d = decide(SLUG, verification="pending", now=now, failed_at=now)
    assert (d.outcome, d.clause) == ("verify", "novakeys.verification")
    assert "2026-03-09 16:00 (Asia/Riyadh)" in d.explanation


def test_refund_when_replacement_not_feasible():
    """03. "Where replacement is not feasible ... we issue a full refund to the original payment
    method." """
    assert outcome(SLUG, replacement_in_stock=False) == "refund"
    assert outcome(SLUG, verification="not_defective") == "reject"


def test_out_of_scope_claims():
    """03. "A code lost by you, redeemed against the wrong account, or shared with a third party
    is outside warranty cover." """
    for reason in ("lost_code", "wrong_account", "shared_code"):
        d = decide(SLUG, reason=reason)
        assert (d.outcome, d.clause) == ("reject", "novakeys.out_of_scope")


def test_hidden_defects_by_law_are_not_bound_to_the_7_days():
    """01. "the seller is responsible for hidden defects ... regardless of any manufacturer
    warranty." """
    d = decide(SLUG, reason="technical_problem", days_after_purchase=60)
    assert (d.outcome, d.clause) == ("replace", "novakeys.remedy")
    assert outcome(SLUG, reason="technical_problem", verification="pending") == "verify"


def test_what_the_warranty_page_does_not_cover():
    for reason in ("double_charge", "change_of_mind", "wrong_purchase", "cancel_request"):
        assert decide(SLUG, reason=reason).clause == "novakeys.not_covered"
