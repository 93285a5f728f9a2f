"""Each seed's claim clauses, through the claim path (our facts -> the engine under the
active preset): what the customer is told before filing, whether the claim is accepted,
and what staff are recommended once they record the facts. One row per clause reading."""

from datetime import timedelta

import pytest
from django.utils import timezone

from keys.models import Key
from refunds.selectors import claim_recommendation_get
from refunds.services import ClaimNotAccepted, claim_preview, claim_verification_record
from tests.factories import claim_new

from .conftest import preset_activate

DAY = timedelta(days=1)

# slug, reason, days since purchase, days since failure (None), staff facts, outcome, clause
CASES = [
    # Windows Key Mart
    ("windowskeymart", "key_invalid", 1, None, {}, "replace", "windowskeymart.key_guarantee"),
    (
        "windowskeymart",
        "key_invalid",
        1,
        None,
        {"activated": True},
        "reject",
        "windowskeymart.working_keys",
    ),
    (
        "windowskeymart",
        "wrong_purchase",
        1,
        None,
        {},
        "exchange",
        "windowskeymart.incorrect_purchases",
    ),
    (
        "windowskeymart",
        "wrong_purchase",
        1,
        None,
        {"activated": True},
        "reject",
        "windowskeymart.working_keys",
    ),
    (
        "windowskeymart",
        "activation_problem",
        1,
        None,
        {},
        "support",
        "windowskeymart.limited_support",
    ),
    ("windowskeymart", "lost_code", 1, None, {}, "support", "windowskeymart.account_keys"),
    ("windowskeymart", "key_invalid", 400, None, {}, "replace", "windowskeymart.key_guarantee"),
    # Microprokey
    ("microprokey", "key_invalid", 2, None, {}, "verify", "microprokey.exchanges"),
    (
        "microprokey",
        "key_invalid",
        2,
        None,
        {"result": "confirmed_defective"},
        "replace",
        "microprokey.exchanges",
    ),
    (
        "microprokey",
        "key_invalid",
        2,
        None,
        {"result": "not_defective"},
        "reject",
        "microprokey.exchanges",
    ),
    ("microprokey", "activation_problem", 2, None, {}, "support", "microprokey.activation_support"),
    (
        "microprokey",
        "activation_problem",
        2,
        None,
        {"support_exhausted": True},
        "verify",
        "microprokey.exchanges",
    ),
    ("microprokey", "misuse", 2, None, {}, "support", "microprokey.activation_support"),
    ("microprokey", "lost_code", 2, None, {}, "support", "microprokey.key_access"),
    # Anti Mart
    (
        "antimart",
        "key_invalid",
        2,
        None,
        {"result": "confirmed_defective"},
        "replace",
        "antimart.reporting",
    ),
    (
        "antimart",
        "key_already_used",
        2,
        None,
        {"result": "confirmed_defective", "activated": True},
        "reject",
        "antimart.eligibility",
    ),
    ("antimart", "wrong_product_sent", 2, None, {}, "replace", "antimart.reporting"),
    # AllKeyMasters
    ("allkeymasters", "key_invalid", 90, None, {}, "verify", "allkeymasters.request_procedure"),
    (
        "allkeymasters",
        "key_invalid",
        90,
        None,
        {"result": "confirmed_defective"},
        "replace",
        "allkeymasters.support_first",
    ),
    (
        "allkeymasters",
        "key_invalid",
        3,
        None,
        {"activated": True},
        "verify",
        "allkeymasters.activated",
    ),
    (
        "allkeymasters",
        "key_invalid",
        3,
        None,
        {"activated": True, "result": "not_defective"},
        "reject",
        "allkeymasters.activated",
    ),
    ("allkeymasters", "store_error", 3, None, {}, "refund", "allkeymasters.our_error"),
    ("allkeymasters", "misuse", 3, None, {}, "support", "allkeymasters.misuse"),
    (
        "allkeymasters",
        "misuse",
        3,
        None,
        {"support_exhausted": True},
        "refund",
        "allkeymasters.misuse",
    ),
    ("allkeymasters", "activation_problem", 3, None, {}, "support", "allkeymasters.support_first"),
    # NovaKeys
    ("novakeys", "code_expired", 30, 3, {}, "verify", "novakeys.verification"),
    (
        "novakeys",
        "code_expired",
        30,
        3,
        {"result": "confirmed_defective"},
        "replace",
        "novakeys.remedy",
    ),
    ("novakeys", "technical_problem", 30, 20, {}, "verify", "novakeys.verification"),
]

# slug, reason, days since purchase, days since failure, clause cited in the refusal
REFUSED = [
    ("windowskeymart", "change_of_mind", 1, None, "windowskeymart.refund_assurance"),
    ("windowskeymart", "misuse", 1, None, "windowskeymart.liability"),
    ("windowskeymart", "software_usage", 1, None, "windowskeymart.limited_support"),
    ("windowskeymart", "wrong_account", 1, None, "windowskeymart.single_use"),
    ("windowskeymart", "shared_code", 1, None, "windowskeymart.unauthorized_use"),
    ("windowskeymart", "double_charge", 1, None, "windowskeymart.not_covered"),
    ("microprokey", "key_invalid", 8, None, "microprokey.error_window"),
    ("microprokey", "wrong_purchase", 1, None, "microprokey.incorrect_purchases"),
    ("microprokey", "incompatible", 1, None, "microprokey.incorrect_purchases"),
    ("microprokey", "change_of_mind", 1, None, "microprokey.non_refundable"),
    ("microprokey", "software_usage", 1, None, "microprokey.product_use"),
    ("antimart", "key_invalid", 8, None, "antimart.reporting"),
    ("antimart", "change_of_mind", 1, None, "antimart.final_sale"),
    ("antimart", "wrong_purchase", 1, None, "antimart.final_sale"),
    ("antimart", "incompatible", 1, None, "antimart.final_sale"),
    ("allkeymasters", "incompatible", 1, None, "allkeymasters.incompatibility"),
    ("allkeymasters", "change_of_mind", 1, None, "allkeymasters.change_of_mind"),
    ("novakeys", "key_invalid", 30, 8, "novakeys.claim_procedure"),
    ("novakeys", "lost_code", 1, None, "novakeys.out_of_scope"),
    ("novakeys", "wrong_account", 1, None, "novakeys.out_of_scope"),
    ("novakeys", "shared_code", 1, None, "novakeys.out_of_scope"),
    ("novakeys", "change_of_mind", 1, None, "novakeys.not_covered"),
]


def _age(order, key, *, days: int) -> None:
    paid = timezone.now() - days * DAY
    type(order).objects.filter(pk=order.pk).update(paid_at=paid, delivered_at=paid)
    Key.objects.filter(pk=key.pk).update(delivered_at=paid)
    order.refresh_from_db()
    key.refresh_from_db()


def _failed(days):
    return None if days is None else timezone.now() - days * DAY


@pytest.mark.parametrize(("slug", "reason", "age", "failed", "facts", "outcome", "clause"), CASES)
def test_claim_clause(slug, reason, age, failed, facts, outcome, clause, delivered, agent):
    preset_activate(slug)
    order, key = delivered
    _age(order, key, days=age)
    claim = claim_new(order=order, key=key, reason=reason, failed_at=_failed(failed))
    if facts:
        claim = claim_verification_record(
            claim=claim,
            actor=agent,
            result=facts.get("result", "pending"),
            activated=facts.get("activated", False),
            support_exhausted=facts.get("support_exhausted", False),
        )
    decision = claim_recommendation_get(claim=claim)
    assert (decision.outcome, decision.clause) == (outcome, clause), decision.explanation


@pytest.mark.parametrize(("slug", "reason", "age", "failed", "clause"), REFUSED)
def test_refused_claim_clause(slug, reason, age, failed, clause, delivered):
    preset_activate(slug)
    order, key = delivered
    _age(order, key, days=age)
    preview = claim_preview(order=order, order_line=key.order_line, key=key, reason=reason,
                            failed_at=_failed(failed))  # fmt: skip
    assert not preview.accepted and preview.decision.clause == clause
    with pytest.raises(ClaimNotAccepted) as refused:
        claim_new(order=order, key=key, reason=reason, failed_at=_failed(failed))
    assert refused.value.decision.clause == clause


@pytest.mark.parametrize("preset", ["antimart"], indirect=True)
def test_antimart_a_key_not_received_within_24_hours_is_refunded(preset, win, customer):
    from tests.factories import order_delivered_new

    order = order_delivered_new(product=win, user=customer)  # no stock: never delivered
    type(order).objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(hours=25))
    order.refresh_from_db()
    claim = claim_new(order=order, reason="not_delivered", description="Nothing arrived")
    assert claim.submitted_outcome == "refund"
    decision = claim_recommendation_get(claim=claim)
    assert (decision.outcome, decision.clause) == ("refund", "antimart.non_delivery")


@pytest.mark.parametrize("preset", ["antimart"], indirect=True)
def test_antimart_a_key_not_received_yet_waits_for_the_24_hours(preset, win, customer):
    from tests.factories import order_delivered_new

    order = order_delivered_new(product=win, user=customer)
    claim = claim_new(order=order, reason="not_delivered", description="Nothing arrived")
    assert (claim.submitted_outcome, claim.submitted_clause) == ("support", "antimart.non_delivery")
