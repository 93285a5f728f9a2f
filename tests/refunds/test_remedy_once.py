"""A key gets one remedy. A replaced key is not refunded, a refunded or revoked key is not
replaced, a refund of a line withdraws every key sent for it (replacements included), the
engine is told what the key already received, and the database backs it."""

import re
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from keys.models import Key
from orders.models import Refund
from refunds.models import Claim
from refunds.selectors import claim_case_build, claim_recommendation_get
from refunds.services import (
    ClaimError,
    claim_approve_exchange,
    claim_approve_refund,
    claim_approve_replacement,
    claim_verification_record,
)
from tests.factories import ProductFactory, claim_new, keys_create
from tests.staff import staff_login

from .conftest import preset_activate

# Refunding where the policy recommends a replacement is an override: staff say why.
OVERRIDE_NOTE = "customer asked for their money back; manager agreed"


def out_of_stock():
    Key.objects.filter(status="available").update(status="defective")


def test_a_replaced_key_cannot_be_refunded(delivered, agent, django_capture_on_commit_callbacks):
    preset_activate("windowskeymart")
    order, key = delivered
    first = claim_approve_replacement(claim=claim_new(order=order, key=key), actor=agent)
    assert first.remedy == "replace"
    with pytest.raises(ClaimError, match="already replaced"):
        claim_new(order=order, key=key)
    assert not Refund.objects.exists()
    assert first.replacement_key.status == "delivered"


def test_a_refunded_key_cannot_be_replaced(
    transactional_db, delivered, agent, django_capture_on_commit_callbacks
):
    preset_activate("windowskeymart")
    order, key = delivered
    with django_capture_on_commit_callbacks(execute=True):
        refunded = claim_approve_refund(
            claim=claim_new(order=order, key=key), actor=agent, note=OVERRIDE_NOTE
        )
    assert refunded.remedy == "refund"
    key.refresh_from_db()
    assert key.status == "revoked"
    with pytest.raises(ClaimError, match="already refunded"):
        claim_new(order=order, key=key)
    assert not Key.objects.filter(replaces=key).exists()


def test_a_key_revoked_while_its_claim_was_open_gets_no_replacement(
    transactional_db, delivered, agent
):
    """The order was refunded in full elsewhere (staff, a chargeback) while the claim
    waited: approving the replacement now would hand out a free key."""
    from orders.services import order_refund

    preset_activate("windowskeymart")
    order, key = delivered
    claim = claim_new(order=order, key=key)
    order_refund(order=order, reason="support", reference="goodwill")
    key.refresh_from_db()
    assert key.status == "revoked"
    with pytest.raises(ClaimError, match="withdrawn"):
        claim_approve_replacement(claim=claim, actor=agent)
    assert not Key.objects.filter(replaces=key).exists()
    claim.refresh_from_db()
    assert claim.is_open and claim.remedy == ""


def test_a_claim_with_a_refund_under_way_gets_no_replacement_or_exchange(
    transactional_db, stripe_delivered, stripe_on, agent
):
    preset_activate("windowskeymart")
    order, key = stripe_delivered
    claim = claim_new(order=order, key=key)
    stripe_on.refuse_refunds = 1  # the first attempt fails: the claim stays open
    with pytest.raises(ClaimError, match="try again"):
        claim_approve_refund(claim=claim, actor=agent, note=OVERRIDE_NOTE)
    claim.refresh_from_db()
    assert claim.is_open and claim.refund_requested_at is not None
    with pytest.raises(ClaimError, match="refund was already requested"):
        claim_approve_replacement(claim=claim, actor=agent)
    home = ProductFactory(name="Windows 11 Home", slug="windows-11-home", price=Decimal("19.90"))
    keys_create(product=home, count=1)
    with pytest.raises(ClaimError, match="refund was already requested"):
        claim_approve_exchange(claim=claim, actor=agent, product=home)
    assert not Key.objects.filter(replaces=key).exists()


def _two_line_order(*, customer, products):
    """A delivered order of two keys of products[0] and one of products[1]."""
    from django.test import TestCase

    from orders.cart import cart_get
    from orders.services import ConsentGiven, order_create_from_cart, payment_test_card_submit

    order = order_create_from_cart(
        cart=cart_get(session_cart={str(products[0].pk): 2, str(products[1].pk): 1}),
        billing_name="Alice",
        email=customer.email,
        language="en",
        user=customer,
        ip="203.0.113.7",
        user_agent="pytest",
        consents=[ConsentGiven(kind="policy_acceptance", text="I accept.", wording_version="t")],
    )
    from orders.services import order_checkout_start

    order_checkout_start(order=order)
    with TestCase.captureOnCommitCallbacks(execute=True):
        payment_test_card_submit(
            session_id=order.gateway_session_id, card_number="4242424242424242"
        )
    order.refresh_from_db()
    assert order.status == "delivered", order.status
    return order


def test_a_refund_of_a_whole_line_revokes_every_key_sent_for_it_replacements_included(
    transactional_db, stocked, customer, agent, manager, django_capture_on_commit_callbacks
):
    preset_activate("windowskeymart")
    office = ProductFactory(name="Office 2021", slug="office-2021", price=Decimal("49.90"))
    keys_create(product=office, count=2)
    order = _two_line_order(customer=customer, products=[stocked, office])
    win_line = order.lines.get(product=stocked)
    first, second = Key.objects.filter(order_line=win_line).order_by("id")
    replaced = claim_approve_replacement(claim=claim_new(order=order, key=first), actor=agent)
    replacement = replaced.replacement_key
    assert replacement.status == "delivered" and replacement.order_line == win_line

    claim = claim_new(order=order, key=second)
    claim = claim_verification_record(claim=claim, actor=manager, result="confirmed_defective")
    with django_capture_on_commit_callbacks(execute=True):
        refunded = claim_approve_refund(
            claim=claim, actor=manager, amount=win_line.line_total, note=OVERRIDE_NOTE
        )
    assert refunded.refund_amount == Decimal("59.80")
    replacement.refresh_from_db()
    second.refresh_from_db()
    assert second.status == "revoked"
    assert replacement.status == "revoked"  # the line's money is back: so are all its keys
    office_key = Key.objects.get(order_line__order=order, product=office)
    assert office_key.status == "delivered"  # the other line is untouched


def test_a_key_refund_withdraws_the_key_only(
    transactional_db, stocked, customer, agent, django_capture_on_commit_callbacks
):
    preset_activate("windowskeymart")
    office = ProductFactory(name="Office 2021", slug="office-2021", price=Decimal("49.90"))
    keys_create(product=office, count=1)
    order = _two_line_order(customer=customer, products=[stocked, office])
    first, second = Key.objects.filter(order_line__product=stocked, order_line__order=order)
    with django_capture_on_commit_callbacks(execute=True):
        claim_approve_refund(
            claim=claim_new(order=order, key=first), actor=agent, note=OVERRIDE_NOTE
        )
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("revoked", "delivered")


def test_the_engine_is_told_what_the_key_already_received(delivered, agent):
    from policies.engine import claim_decide
    from refunds.selectors import preset_rules_get

    preset_activate("windowskeymart")
    order, key = delivered
    claim = claim_new(order=order, key=key)
    assert claim_recommendation_get(claim=claim).outcome == "replace"
    claim = claim_approve_replacement(claim=claim, actor=agent)
    # The claim's own remedy does not count against it...
    assert claim_recommendation_get(claim=claim).outcome == "replace"
    # ...but any new look at that key sees the replacement.
    case = claim_case_build(
        order=order, order_line=key.order_line, key=key, reason="key_invalid", failed_at=None
    )
    assert case.key_remedy == "replaced"
    decision = claim_decide(case=case, preset=preset_rules_get())
    assert decision.outcome == "reject"
    assert decision.clause == "windowskeymart.exchanges" or decision.clause.startswith(
        "windowskeymart."
    )
    assert "already replaced" in decision.explanation
    fresh = claim_case_build(
        order=order,
        order_line=key.order_line,
        key=claim.replacement_key,
        reason="key_invalid",
        failed_at=None,
    )
    assert fresh.key_remedy == ""  # the key sent in its place can still be claimed


def test_the_claim_form_refuses_a_key_already_refunded_with_a_clear_message(
    transactional_db, client, delivered, customer, agent, django_capture_on_commit_callbacks
):
    from refunds.services import claim_preview

    preset_activate("windowskeymart")
    order, key = delivered
    with django_capture_on_commit_callbacks(execute=True):
        claim_approve_refund(claim=claim_new(order=order, key=key), actor=agent, note=OVERRIDE_NOTE)
    key.refresh_from_db()
    preview = claim_preview(
        order=order, order_line=key.order_line, key=key, reason="key_invalid", failed_at=None
    )
    assert not preview.accepted
    assert preview.refusal == "This key was already refunded. A key is remedied once."
    assert preview.decision.outcome == "reject"


def test_the_database_refuses_a_second_remedy_for_one_key(delivered, agent):
    preset_activate("windowskeymart")
    order, key = delivered
    first = claim_approve_replacement(claim=claim_new(order=order, key=key), actor=agent)
    second = Claim.objects.create(
        order=order, order_line=key.order_line, key=key, guest_email=order.email,
        reason="key_invalid", description="again", preset_slug="windowskeymart",
    )  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        Claim.objects.filter(pk=second.pk).update(
            status="approved", remedy="refund", refund_amount=Decimal("29.90")
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Claim.objects.filter(pk=first.pk).update(refund_requested_at=first.decided_at)


def test_the_admin_proposes_exactly_what_the_refund_service_accepts_after_a_failed_refund(
    transactional_db, client, stripe_delivered, stripe_on, agent
):
    """A 10.00 goodwill refund failed at Stripe (it is retried with its idempotency key,
    so its amount stays committed): the admin proposes what the service then accepts."""
    from orders.selectors import order_refundable_amount
    from orders.services import OrderError, order_refund

    preset_activate("windowskeymart")
    order, key = stripe_delivered
    stripe_on.refuse_refunds = 1
    failed = order_refund(
        order=order, amount=Decimal("10.00"), reason="support", reference="goodwill"
    )
    assert failed.status == "failed"
    order.refresh_from_db()
    claim = claim_new(order=order, key=key)

    staff_login(client=client, user=agent)
    page = client.get(f"/admin/refunds/claim/{claim.pk}/change/").content.decode()
    [proposed] = re.findall(r'name="amount" value="([0-9.]+)"', page)
    assert Decimal(proposed) == order_refundable_amount(order=order) == Decimal("19.90")

    with pytest.raises(OrderError, match="at most 19.90"):
        order_refund(order=order, amount=Decimal(proposed) + Decimal("0.01"), reason="probe")
    claim = claim_approve_refund(
        claim=claim, actor=agent, amount=Decimal(proposed), note=OVERRIDE_NOTE
    )
    assert claim.remedy == "refund" and claim.refund_amount == Decimal("19.90")
