"""Microprokey (seed 001_e4cd68e04e222534.txt), clause by clause."""

from .helpers import decide, outcome

SLUG = "microprokey"


def test_confirmed_defective_key_within_7_days_is_replaced():
    """7. "If the Product Key is proven defective and cannot be fixed even with technical
    support, we will issue a replacement for the same product." (the contract's own example)"""
    d = decide(SLUG, days_after_purchase=5)
    assert (d.outcome, d.clause) == ("replace", "microprokey.exchanges")


def test_replacement_only_after_investigation():
    """7. "Exchanges are only offered after investigation by our technical team." """
    assert outcome(SLUG, verification="pending") == "verify"
    assert outcome(SLUG, verification="not_defective") == "reject"


def test_errors_reported_after_7_days_get_nothing():
    """6. "You must report any redemption or activation error within 7 days of purchase. We
    cannot offer support, replacement, or refunds for issues reported after this period." """
    d = decide(SLUG, days_after_purchase=8)
    assert (d.outcome, d.clause) == ("reject", "microprokey.error_window")
    assert outcome(SLUG, reason="activation_problem", days_after_purchase=8) == "reject"
    assert outcome(SLUG, days_after_purchase=7) == "replace"


def test_activation_problems_go_to_support_first():
    """2. "Refunds or replacements will only be considered if all support efforts are
    unsuccessful and we confirm the key is defective." """
    d = decide(SLUG, reason="activation_problem")
    assert (d.outcome, d.clause) == ("support", "microprokey.activation_support")
    assert outcome(SLUG, reason="activation_problem", support_exhausted=True) == "replace"
    assert (
        outcome(SLUG, reason="activation_problem", support_exhausted=True, verification="pending")
        == "verify"
    )


def test_refund_only_when_no_replacement_can_be_sent():
    """Note: "if we fail to provide a working key and cannot send a replacement, only then a
    refund may be issued" -- also for a viewed key."""
    d = decide(SLUG, replacement_in_stock=False)
    assert (d.outcome, d.clause) == ("refund", "microprokey.refund_exception")
    assert outcome(SLUG, replacements_given=1) == "replace"  # no limit while in stock
    assert outcome(SLUG, replacements_given=1, replacement_in_stock=False) == "refund"


def test_wrong_or_incompatible_purchase_gets_nothing():
    """1. "Refunds or replacements will not be issued if the wrong product is purchased or if
    the product is incompatible with your device or system." """
    assert decide(SLUG, reason="wrong_purchase").clause == "microprokey.incorrect_purchases"
    assert outcome(SLUG, reason="incompatible") == "reject"
    assert outcome(SLUG, reason="wrong_purchase", first_viewed_at=None) == "reject"


def test_non_refundable_and_software_usage():
    """Note: "All purchases made at Microprokey are non-refundable."; 3. software usage issues
    "should be directed to the software developer's official support channels." """
    assert outcome(SLUG, reason="change_of_mind", first_viewed_at=None) == "reject"
    assert decide(SLUG, reason="software_usage").clause == "microprokey.product_use"


def test_no_customer_cancellation_before_or_after_delivery():
    """4. "Orders cannot be canceled once the Product Key has been delivered"; "not eligible
    for return, cancellation, or exchange"; only the store cancels, for suspected fraud."""
    assert outcome(SLUG, reason="cancel_request") == "reject"
    d = decide(SLUG, reason="cancel_request", delivered_at=None, first_viewed_at=None)
    assert (d.outcome, d.clause) == ("reject", "microprokey.cancellation")


def test_key_is_always_reachable():
    """How do I receive: tracking page and My Account "ensures you always have access to your
    product key, even if the email is lost"."""
    assert outcome(SLUG, reason="lost_code") == "support"
    assert outcome(SLUG, reason="not_delivered") == "support"


def test_uncovered_reasons_are_refused():
    for reason in ("double_charge", "store_error", "wrong_account", "shared_code"):
        assert decide(SLUG, reason=reason).clause == "microprokey.not_covered"
