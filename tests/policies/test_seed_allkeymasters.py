"""AllKeyMasters (seed 003_2bd629a8ec1568b9.txt), clause by clause."""

from .helpers import decide, outcome

SLUG = "allkeymasters"
NOT_DELIVERED = {"delivered_at": None, "first_viewed_at": None}


def test_invalid_key_after_verification_replacement_then_refund():
    """2. "Invalid or incorrect key ... after verification by our team."; 5. "Key replacement if
    defective ... Refund is only considered as a last resort" """
    assert outcome(SLUG, verification="pending") == "verify"
    assert decide(SLUG).outcome == "replace"
    # "if no technical solution is possible": another key in stock is one, so no limit
    assert outcome(SLUG, replacements_given=1) == "replace"
    d = decide(SLUG, replacements_given=1, replacement_in_stock=False)
    assert (d.outcome, d.clause) == ("refund", "allkeymasters.invalid_key")
    assert outcome(SLUG, replacement_in_stock=False) == "refund"
    assert outcome(SLUG, verification="not_defective") == "reject"


def test_verification_deadline_is_48_business_hours():
    """4. "Our team will review your request and respond within 48 hours (business days)." """
    d = decide(SLUG, verification="pending")  # Wed 2026-03-04 10:00 UTC
    assert d.clause == "allkeymasters.request_procedure"
    assert "2026-03-06 11:00 (Europe/Paris)" in d.explanation


def test_double_payment_and_our_error_are_refunded():
    """2. "Double payment: If you were charged twice" ; "Our error: If we made an error in
    processing your order" """
    assert decide(SLUG, reason="double_charge", verification="pending").outcome == "refund"
    assert decide(SLUG, reason="store_error").clause == "allkeymasters.our_error"
    assert outcome(SLUG, reason="double_charge", activated=True) == "refund"


def test_wrong_product_delivered_is_refunded_after_verification():
    """2. "does not match the ordered product, after verification"; "wrong product delivered" """
    assert outcome(SLUG, reason="wrong_product_sent", verification="pending") == "verify"
    assert outcome(SLUG, reason="wrong_product_sent") == "refund"


def test_major_technical_problem_refund_when_no_replacement():
    """2. "Major technical problem: ... independent of your configuration, and no replacement
    solution is possible." """
    assert outcome(SLUG, reason="technical_problem") == "support"  # support before refund
    assert outcome(SLUG, reason="technical_problem", support_exhausted=True) == "replace"
    d = decide(SLUG, reason="technical_problem", replacement_in_stock=False, support_exhausted=True)
    assert (d.outcome, d.clause) == ("refund", "allkeymasters.technical_problem")


def test_activated_key_refused_unless_proven_defect():
    """3. "Key already activated: ... (except in case of proven defect on our part)." """
    assert decide(SLUG, activated=True, verification="not_defective").outcome == "reject"
    assert outcome(SLUG, activated=True, verification="pending") == "verify"
    assert outcome(SLUG, activated=True, replacement_in_stock=False) == "refund"


def test_incompatibility_and_change_of_mind_refused():
    """3. "System incompatibility" and "Change of mind ... once delivery is complete" """
    assert decide(SLUG, reason="incompatible").clause == "allkeymasters.incompatibility"
    assert decide(SLUG, reason="change_of_mind").outcome == "reject"
    assert outcome(SLUG, reason="wrong_purchase") == "reject"


def test_withdrawal_before_delivery():
    """1./3. the withdrawal right is lost for content "delivered immediately"; "once delivery
    is complete" -- before delivery the order can still be cancelled."""
    d = decide(SLUG, reason="cancel_request", **NOT_DELIVERED)
    assert (d.outcome, d.clause) == ("cancel", "allkeymasters.withdrawal")
    assert outcome(SLUG, reason="cancel_request") == "reject"


def test_misuse_refused_unless_support_cannot_help():
    """3. "Misuse: ... unless our support cannot help you." """
    assert decide(SLUG, reason="misuse").outcome == "support"
    assert outcome(SLUG, reason="misuse", support_exhausted=True) == "refund"


def test_support_before_refund_for_unknown_activation_problems():
    """5. "Before processing a refund, our support team will do everything possible" """
    assert decide(SLUG, reason="activation_problem").clause == "allkeymasters.support_first"
    assert outcome(SLUG, reason="activation_problem", support_exhausted=True) == "replace"


def test_no_claim_window_is_inherited():
    """The seed states no claim window: a claim months later is still decided on its merits."""
    assert outcome(SLUG, days_after_purchase=120) == "replace"
    assert outcome(SLUG, reason="double_charge", days_after_purchase=120) == "refund"


def test_uncovered():
    for reason in ("lost_code", "wrong_account", "shared_code", "software_usage"):
        assert decide(SLUG, reason=reason).clause == "allkeymasters.not_covered"
