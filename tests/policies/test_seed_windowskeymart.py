"""Windows Key Mart (seed 000_d051844c3d57e916.txt), clause by clause."""

from datetime import timedelta

from .helpers import PURCHASED, decide, outcome

SLUG = "windowskeymart"


def test_invalid_key_is_replaced_first():
    """a. "If you receive a Windows key that is invalid or does not activate as intended, we
    will first offer a replacement key at no additional cost." """
    d = decide(SLUG, reason="key_invalid")
    assert (d.outcome, d.clause) == ("replace", "windowskeymart.key_guarantee")
    assert outcome(SLUG, reason="technical_problem") == "replace"
    assert outcome(SLUG, reason="key_already_used") == "replace"


def test_replacement_needs_no_prior_verification():
    """a. only the refund sentence asks for confirmation; the replacement is offered first."""
    assert outcome(SLUG, verification="pending") == "replace"


def test_replacement_failed_within_7_days_refund():
    """b. "full refund guaranteed in 7 Days, if a replacement key also fails to function
    properly, you are entitled to a full refund." """
    d = decide(SLUG, replacements_given=1, days_after_purchase=6.9)
    assert (d.outcome, d.clause) == ("refund", "windowskeymart.refund_assurance")


def test_refund_only_for_confirmed_non_functional_keys():
    """b. "Refunds are only processed in cases where the digital key is confirmed to be
    non-functional." """
    assert outcome(SLUG, replacements_given=1, verification="pending") == "verify"
    assert outcome(SLUG, replacements_given=1, verification="not_defective") == "reject"


def test_after_the_7_day_guarantee_no_refund_but_the_key_guarantee_stands():
    """b. the refund is guaranteed "in 7 Days"; product authenticity a. "Each key is guaranteed
    to work as described", so a failed replacement after day 7 is replaced again."""
    assert outcome(SLUG, replacements_given=1, days_after_purchase=9) == "replace"
    d = decide(SLUG, replacements_given=1, days_after_purchase=9, replacement_in_stock=False)
    assert (d.outcome, d.clause) == ("reject", "windowskeymart.refund_assurance")


def test_no_claim_window_for_a_first_replacement():
    """The seed states no deadline for the replacement of a key that does not work."""
    assert outcome(SLUG, days_after_purchase=40) == "replace"


def test_activated_key_is_final():
    """c. "Once a key has been successfully activated, it is considered delivered and
    functional. In such cases, refunds or returns will not be issued." """
    d = decide(SLUG, activated=True, replacements_given=1)
    assert (d.outcome, d.clause) == ("reject", "windowskeymart.working_keys")
    assert outcome(SLUG, activated=True, reason="wrong_purchase") == "reject"


def test_wrong_purchase_is_exchanged_not_refunded():
    """d. "If you mistakenly purchase the wrong product (e.g., wrong version of Windows), we are
    unable to offer a refund. However, we will gladly assist you in exchanging it." """
    d = decide(SLUG, reason="wrong_purchase", days_after_purchase=20)
    assert (d.outcome, d.clause) == ("exchange", "windowskeymart.incorrect_purchases")
    assert outcome(SLUG, reason="incompatible") == "exchange"


def test_missing_email_goes_to_support_for_a_resend():
    """Delivery b. "Didn't receive your key? ... reach out to our support team ... we can
    resend your key if needed." No non-delivery deadline is stated."""
    assert outcome(SLUG, reason="not_delivered") == "support"
    assert (
        outcome(SLUG, reason="not_delivered", delivered_at=None, first_viewed_at=None) == "support"
    )


def test_activation_help_first_and_no_os_troubleshooting():
    """Limited support b. "We provide assistance with activation-related issues. However, we do
    not offer in-depth technical support for operating system installations." """
    assert outcome(SLUG, reason="activation_problem") == "support"
    assert outcome(SLUG, reason="activation_problem", support_exhausted=True) == "replace"
    assert outcome(SLUG, reason="software_usage") == "reject"


def test_misuse_resale_and_transfer_are_refused():
    """Liability a. no responsibility for "use or misuse"; Responsibilities b. "resale or
    unauthorized distribution is strictly prohibited"; Authenticity b. single use."""
    assert decide(SLUG, reason="misuse").clause == "windowskeymart.liability"
    assert decide(SLUG, reason="shared_code").clause == "windowskeymart.unauthorized_use"
    assert decide(SLUG, reason="wrong_account").clause == "windowskeymart.single_use"


def test_what_the_seed_does_not_cover_is_refused():
    """The seed has no rule for a change of mind, a double charge, a store error or a customer
    cancellation: refused, never borrowed from another store."""
    for reason in ("change_of_mind", "double_charge", "store_error", "cancel_request"):
        assert outcome(SLUG, reason=reason) == "reject", reason
    d = decide(SLUG, reason="cancel_request", delivered_at=None, first_viewed_at=None)
    assert d.outcome == "reject"


def test_lost_key_is_found_in_the_account():
    """Delivery c. "Your purchased keys will be stored in your account dashboard" """
    assert outcome(SLUG, reason="lost_code") == "support"


def test_out_of_stock_within_7_days_refunds_confirmed_key():
    """b. the 7-day full refund guarantee when no working key can be given."""
    assert outcome(SLUG, replacement_in_stock=False) == "refund"
    assert outcome(SLUG, replacement_in_stock=False, verification="pending") == "verify"


def test_window_edge_is_inclusive():
    now = PURCHASED + timedelta(days=7)
    assert outcome(SLUG, replacements_given=1, now=now) == "refund"
