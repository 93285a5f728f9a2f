"""Each remedy of each preset where it applies, from the claim to the customer's email:
replacement, exchange (Windows Key Mart), refund, rejection with the clause, cancellation
before delivery. Staff act through the admin's buttons (each calls one service)."""

from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied

from keys.models import Key
from refunds.models import ClaimStatus
from refunds.services import (
    claim_approve_refund,
    claim_approve_replacement,
    claim_reject,
    claim_verification_record,
)
from tests.factories import ProductFactory, claim_new, keys_create
from tests.staff import staff_login

from .conftest import preset_activate

VERIFYING_PRESETS = ["microprokey", "antimart", "allkeymasters", "novakeys"]


def act(client, claim, action, **data):
    return client.post(f"/admin/refunds/claim/{claim.pk}/act/{action}/", data)


def customer_mail(address):
    return [m for m in mail.outbox if m.to == [address]]


@pytest.mark.parametrize("slug", ["windowskeymart", *VERIFYING_PRESETS])
def test_replacement_through_the_admin_for_each_preset(
    slug, client, delivered, customer, agent, django_capture_on_commit_callbacks
):
    preset_activate(slug)
    order, key = delivered
    with django_capture_on_commit_callbacks(execute=True):
        claim = claim_new(order=order, key=key, reason="key_invalid")
    staff_login(client=client, user=agent)
    page = client.get(f"/admin/refunds/claim/{claim.pk}/change/").content.decode()
    if slug == "windowskeymart":
        assert 'id="rec-outcome">replace<' in page  # replacement first, no verification
    else:
        assert 'id="rec-outcome">verify<' in page
        with django_capture_on_commit_callbacks(execute=True):
            act(client, claim, "verify", result="confirmed_defective", note="issuer says invalid")
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.VERIFYING
        page = client.get(f"/admin/refunds/claim/{claim.pk}/change/").content.decode()
        assert 'id="rec-outcome">replace<' in page

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = act(client, claim, "replace")
    assert response.status_code == 302
    claim.refresh_from_db()
    key.refresh_from_db()
    new_key = claim.replacement_key
    assert claim.status == ClaimStatus.APPROVED and claim.remedy == "replace"
    assert claim.recommendation_outcome == "replace" and claim.decided_by == agent
    assert new_key.replaces == key and new_key.status == "delivered"
    assert new_key.order_line == key.order_line and new_key.product == key.product
    assert key.status == "defective"  # counts against its batch
    email = customer_mail(customer.email)[-1]
    assert claim.number in email.subject and "replacement key" in email.body
    assert new_key.views.filter(channel="email").count() == 1  # the code in the email, audited
    assert claim.events.filter(to_status="approved", actor=agent).exists()


@pytest.mark.parametrize("preset", ["windowskeymart"], indirect=True)
def test_exchange_for_the_product_meant_windows_key_mart(
    transactional_db, preset, client, delivered, customer, agent, django_capture_on_commit_callbacks
):
    order, key = delivered
    home = ProductFactory(name="Windows 11 Home", slug="windows-11-home", price=Decimal("19.90"))
    keys_create(product=home, count=2)
    with django_capture_on_commit_callbacks(execute=True):
        claim = claim_new(
            order=order, key=key, reason="wrong_purchase", description="I meant Windows 11 Home"
        )
    assert claim.submitted_outcome == "exchange"
    assert claim.submitted_clause == "windowskeymart.incorrect_purchases"
    staff_login(client=client, user=agent)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = act(client, claim, "exchange", product=home.pk, note="customer meant Home")
    assert response.status_code == 302
    claim.refresh_from_db()
    key.refresh_from_db()
    assert claim.status == "approved" and claim.remedy == "exchange"
    assert claim.exchange_product == home and claim.replacement_key.product == home
    assert claim.replacement_key.status == "delivered"
    assert key.status == "revoked"
    assert claim.refund_amount == Decimal("10.00")  # 29.90 paid - 19.90
    from orders.models import Refund

    refund = Refund.objects.get(order=order)
    assert refund.amount == Decimal("10.00") and refund.reference == claim.number
    email = customer_mail(customer.email)[-1]
    assert "Windows 11 Home" in email.body and "10.00" in email.body


@pytest.mark.parametrize("preset", ["windowskeymart"], indirect=True)
def test_exchange_to_a_dearer_product_is_refused(preset, delivered, agent):
    from refunds.services import ClaimError, claim_approve_exchange

    order, key = delivered
    ultimate = ProductFactory(name="Windows 11 Pro for Workstations", price=Decimal("99.00"))
    keys_create(product=ultimate, count=1)
    claim = claim_new(order=order, key=key, reason="wrong_purchase")
    with pytest.raises(ClaimError, match="costs more"):
        claim_approve_exchange(claim=claim, actor=agent, product=ultimate)


@pytest.mark.parametrize("slug", ["novakeys", "antimart", "allkeymasters", "microprokey"])
def test_refund_when_no_replacement_is_in_stock(
    transactional_db, slug, client, delivered, customer, agent, django_capture_on_commit_callbacks
):
    preset_activate(slug)
    order, key = delivered
    Key.objects.filter(status="available").update(status="defective")  # out of stock
    with django_capture_on_commit_callbacks(execute=True):
        claim = claim_new(order=order, key=key)
        claim = claim_verification_record(claim=claim, actor=agent, result="confirmed_defective")
    staff_login(client=client, user=agent)
    page = client.get(f"/admin/refunds/claim/{claim.pk}/change/").content.decode()
    assert 'id="rec-outcome">refund<' in page
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = act(client, claim, "refund", amount="29.90")
    assert response.status_code == 302
    claim.refresh_from_db()
    order.refresh_from_db()
    key.refresh_from_db()
    assert claim.status == "approved" and claim.remedy == "refund"
    assert claim.refund_amount == Decimal("29.90")
    assert order.refunded_total == Decimal("29.90") and order.status == "refunded"
    assert key.status == "revoked"
    email = customer_mail(customer.email)[-1]
    assert "refund" in email.subject.lower() and "29.90" in email.body


@pytest.mark.parametrize("preset", ["windowskeymart"], indirect=True)
def test_windows_key_mart_refunds_when_the_replacement_fails_too(
    transactional_db, preset, delivered, agent, django_capture_on_commit_callbacks
):
    from refunds.selectors import claim_recommendation_get

    order, key = delivered
    first = claim_new(order=order, key=key)
    first = claim_approve_replacement(claim=first, actor=agent)
    second = claim_new(order=order, key=first.replacement_key)
    second = claim_verification_record(claim=second, actor=agent, result="confirmed_defective")
    decision = claim_recommendation_get(claim=second)
    assert (decision.outcome, decision.clause) == ("refund", "windowskeymart.refund_assurance")
    with django_capture_on_commit_callbacks(execute=True):
        second = claim_approve_refund(claim=second, actor=agent)
    assert second.remedy == "refund" and second.refund_amount == Decimal("29.90")


@pytest.mark.parametrize("preset", ["microprokey"], indirect=True)
def test_rejection_cites_the_clause_in_the_email(
    preset, client, delivered, customer, agent, django_capture_on_commit_callbacks
):
    order, key = delivered
    claim = claim_new(order=order, key=key)
    staff_login(client=client, user=agent)
    with django_capture_on_commit_callbacks(execute=True):
        act(client, claim, "verify", result="not_defective")
    page = client.get(f"/admin/refunds/claim/{claim.pk}/change/").content.decode()
    assert 'id="rec-outcome">reject<' in page
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = act(
            client,
            claim,
            "reject",
            clause="microprokey.exchanges",
            explanation="The issuer reports the key as working.",
        )
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == "rejected" and claim.decision_clause == "microprokey.exchanges"
    email = customer_mail(customer.email)[-1]
    assert "not accepted" in email.body and "The issuer reports the key as working." in email.body
    assert "#clause-microprokey.exchanges" in email.body


@pytest.mark.parametrize("slug", ["antimart", "allkeymasters"])
def test_cancellation_before_delivery_cancels_and_refunds(
    transactional_db, slug, customer, agent, win, django_capture_on_commit_callbacks
):
    from refunds.services import claim_approve_cancel
    from tests.factories import order_delivered_new

    order = order_delivered_new(product=win, user=customer)  # no stock: waits for keys
    assert order.status == "backordered"
    preset_activate(slug)
    with django_capture_on_commit_callbacks(execute=True):
        claim = claim_new(order=order, reason="cancel_request", description="Please cancel")
    assert claim.submitted_outcome == "cancel"
    with django_capture_on_commit_callbacks(execute=True):
        claim = claim_approve_cancel(claim=claim, actor=agent)
    order.refresh_from_db()
    assert claim.status == "approved" and claim.remedy == "refund"
    assert order.status == "cancelled" and order.refunded_total == order.total
    assert any("refund" in m.subject.lower() for m in customer_mail(customer.email))


@pytest.mark.parametrize("slug", ["microprokey", "novakeys", "windowskeymart"])
def test_presets_without_cancellation_do_not_accept_a_cancel_request(slug, customer, win):
    from refunds.services import ClaimNotAccepted
    from tests.factories import order_delivered_new

    preset_activate(slug)
    order = order_delivered_new(product=win, user=customer)
    with pytest.raises(ClaimNotAccepted):
        claim_new(order=order, reason="cancel_request")


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_support_staff_cannot_refund_above_the_limit_but_a_manager_can(
    transactional_db, preset, delivered, agent, manager, settings
):
    settings.REFUND_LIMIT_WITHOUT_MANAGER = "20.00"
    order, key = delivered
    Key.objects.filter(status="available").update(status="defective")
    claim = claim_new(order=order, key=key)
    claim = claim_verification_record(claim=claim, actor=agent, result="confirmed_defective")
    with pytest.raises(PermissionDenied):
        claim_approve_refund(claim=claim, actor=agent, amount=Decimal("29.90"))
    claim.refresh_from_db()
    assert claim.is_open and claim.refund_requested_at is None
    claim = claim_approve_refund(claim=claim, actor=manager, amount=Decimal("29.90"))
    assert claim.remedy == "refund"


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_support_staff_cannot_reveal_codes(preset, delivered, agent):
    from keys.services import key_reveal

    order, key = delivered
    assert agent.has_perm("refunds.decide_claim")
    assert not agent.has_perm("keys.reveal_key_code")
    with pytest.raises(PermissionDenied):
        key_reveal(key=key, channel="staff", ip="10.0.0.1", user_agent="admin", user=agent)


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_staff_without_the_decide_permission_cannot_act(preset, delivered):
    from .conftest import staff_with

    order, key = delivered
    claim = claim_new(order=order, key=key)
    reader = staff_with(email="reader@example.com")
    with pytest.raises(PermissionDenied):
        claim_reject(claim=claim, actor=reader, explanation="no")
    claim.refresh_from_db()
    assert claim.status == "submitted"


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_a_decided_claim_cannot_be_decided_again(preset, delivered, agent):
    from refunds.services import ClaimError

    order, key = delivered
    claim = claim_new(order=order, key=key)
    claim_verification_record(claim=claim, actor=agent, result="confirmed_defective")
    claim_approve_replacement(claim=claim, actor=agent)
    with pytest.raises(ClaimError):
        claim_approve_replacement(claim=claim, actor=agent)
    assert Key.objects.filter(replaces__isnull=False).count() == 1


def test_claim_transition_refuses_moves_outside_the_machine(db):
    from refunds.services import ALLOWED_CLAIM_MOVES

    assert ALLOWED_CLAIM_MOVES["closed"] == frozenset()
    assert "submitted" not in ALLOWED_CLAIM_MOVES["approved"]
    assert "approved" not in ALLOWED_CLAIM_MOVES["rejected"]


@pytest.mark.parametrize("preset", ["novakeys", "microprokey"], indirect=True)
def test_no_remedy_is_sent_before_the_key_is_verified_where_the_policy_requires_it(
    preset, delivered, agent
):
    """NovaKeys: "We verify the code's status ... If we confirm the failure ... we proceed to
    remedy." Microprokey: "Exchanges are only offered after investigation by our technical
    team." Staff cannot skip that step by clicking approve."""
    from refunds.services import ClaimError

    order, key = delivered
    claim = claim_new(order=order, key=key)
    for approve in (claim_approve_replacement, claim_approve_refund):
        with pytest.raises(ClaimError, match="verified with its issuer"):
            approve(claim=claim, actor=agent)
    assert not Key.objects.filter(replaces__isnull=False).exists()
    assert not order.refunds.exists()
    claim_verification_record(claim=claim, actor=agent, result="confirmed_defective")
    claim_approve_replacement(claim=claim, actor=agent)
    assert Key.objects.filter(replaces=key).count() == 1
