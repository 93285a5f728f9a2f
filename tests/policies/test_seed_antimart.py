"""Anti Mart (seed 002_e12e53a25dcdee37.txt), clause by clause."""

from datetime import timedelta

from .helpers import PURCHASED, decide, outcome

SLUG = "antimart"
NOT_DELIVERED = {"delivered_at": None, "first_viewed_at": None}


def test_invalid_or_used_key_is_verified_then_replaced():
    """2. "Invalid Key: If the license key provided is "Invalid" or "Already Used" at the moment
    of delivery."; 3. "Our technical team will verify the status of the key ... If the key is
    found to be faulty from our end, we will issue a replacement immediately." """
    assert outcome(SLUG, verification="pending") == "verify"
    assert outcome(SLUG, reason="key_already_used") == "replace"
    assert outcome(SLUG, verification="not_defective") == "reject"


def test_refund_when_replacement_impossible():
    """2. "We only offer a replacement or a full refund" """
    assert outcome(SLUG, replacement_in_stock=False) == "refund"
    assert outcome(SLUG, replacements_given=1) == "refund"


def test_report_within_7_days_of_purchase():
    """3. "you must report it to our support team within 7 days of the purchase date." """
    d = decide(SLUG, days_after_purchase=7.5)
    assert (d.outcome, d.clause) == ("reject", "antimart.reporting")
    assert outcome(SLUG, reason="wrong_product_sent", days_after_purchase=8) == "reject"


def test_non_delivery_after_24_hours_is_refunded():
    """2. "Non-Delivery: If you have paid for the product but did not receive the license key
    via email within 24 hours of purchase." """
    d = decide(SLUG, reason="not_delivered", now=PURCHASED + timedelta(hours=25), **NOT_DELIVERED)
    assert (d.outcome, d.clause) == ("refund", "antimart.non_delivery")
    assert (
        outcome(SLUG, reason="not_delivered", now=PURCHASED + timedelta(hours=3), **NOT_DELIVERED)
        == "support"
    )
    late = PURCHASED + timedelta(hours=30)
    assert (
        outcome(SLUG, reason="not_delivered", delivered_at=late, first_viewed_at=None) == "refund"
    )
    assert outcome(SLUG, reason="not_delivered") == "support"


def test_wrong_product_sent():
    """2. "Wrong Product Sent: If we accidentally sent you a license for a different brand or
    version than what you ordered." """
    d = decide(SLUG, reason="wrong_product_sent", verification="pending")
    assert d.outcome == "replace"


def test_final_sale_exclusions_after_delivery():
    """1. "We do not offer refunds or exchanges for: Change of mind after the key has been sent.
    Purchasing the wrong product. System incompatibility." """
    for reason in ("change_of_mind", "wrong_purchase", "incompatible"):
        d = decide(SLUG, reason=reason)
        assert (d.outcome, d.clause) == ("reject", "antimart.final_sale"), reason


def test_cancel_before_delivery_full_refund():
    """5. "Before Delivery: You may request a cancellation for a full refund if the license key
    has not yet been sent" (public case)."""
    d = decide(SLUG, reason="cancel_request", **NOT_DELIVERED)
    assert (d.outcome, d.clause) == ("cancel", "antimart.cancellations")
    assert outcome(SLUG, reason="change_of_mind", **NOT_DELIVERED) == "cancel"


def test_no_cancel_after_dispatch():
    """5. "After Delivery: Once the key is dispatched, the order cannot be canceled." """
    assert decide(SLUG, reason="cancel_request").outcome == "reject"


def test_activated_key_was_not_invalid_at_delivery():
    """2. only keys invalid "at the moment of delivery"; an activated key worked."""
    assert outcome(SLUG, activated=True) == "reject"


def test_only_listed_circumstances():
    """2. "We only offer a replacement or a full refund under the following specific
    circumstances" """
    for reason in ("double_charge", "store_error", "misuse", "lost_code", "software_usage"):
        assert decide(SLUG, reason=reason).clause == "antimart.not_covered", reason
