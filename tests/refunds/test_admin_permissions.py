"""Claim and dispute buttons: closing a claim is a decision (decide_claim), evidence needs
submit_dispute_evidence; refused staff get a 403 and nothing changes; every effect is in
the admin log."""

import pytest

from refunds.models import Claim
from refunds.services import dispute_event_handle
from tests.factories import claim_new
from tests.staff import staff_login
from tests.staff_perms import admin_log

from .conftest import staff_with
from .test_disputes import akm_order, dispute_event  # noqa: F401 -- the fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def claim(preset, delivered):
    order, key = delivered
    return claim_new(order=order, key=key)


def _act(client, claim, action, data=None):
    return client.post(f"/admin/refunds/claim/{claim.pk}/act/{action}/", data or {})


def test_staff_with_change_claim_but_not_decide_cannot_close_a_claim(client, claim):
    user = staff_with()  # view_claim + change_claim only
    staff_login(client=client, user=user)
    assert _act(client, claim, "close").status_code == 403
    claim.refresh_from_db()
    assert claim.status == "submitted" and admin_log(obj=claim, user=user) == []


@pytest.mark.parametrize("action", ["verify", "replace", "refund", "reject", "block_email"])
def test_staff_without_decide_are_refused_every_decision_button(client, claim, action):
    staff_login(client=client, user=staff_with())
    data = {"result": "confirmed_defective", "clause": "x", "explanation": "x", "amount": "1"}
    assert _act(client, claim, action, data).status_code == 403
    claim.refresh_from_db()
    assert (claim.status, claim.verification) == ("submitted", "pending")


def test_staff_who_decide_close_a_claim_and_the_admin_log_says_so(client, claim, agent):
    staff_login(client=client, user=agent)
    assert _act(client, claim, "close").status_code == 302
    claim.refresh_from_db()
    assert claim.status == "closed"
    assert admin_log(obj=claim, user=agent) == ["close: Claim closed."]


def test_staff_with_change_claim_may_still_message_the_customer(client, claim):
    user = staff_with()
    staff_login(client=client, user=user)
    assert _act(client, claim, "message", {"body": "We are checking."}).status_code == 302
    assert claim.messages.filter(body="We are checking.").exists()
    assert admin_log(obj=claim, user=user) == ["message: Message sent to the customer."]


def test_the_close_service_refuses_staff_without_decide(claim):
    from django.core.exceptions import PermissionDenied

    from refunds.services import claim_close

    with pytest.raises(PermissionDenied):
        claim_close(claim=claim, actor=staff_with(), reason="closed by staff")
    assert Claim.objects.get(pk=claim.pk).status == "submitted"


def test_a_view_only_staff_member_is_refused_the_dispute_buttons(client, akm_order):  # noqa: F811
    dispute = dispute_event_handle(event=dispute_event(akm_order))
    staff_login(client=client, user=staff_with("view_dispute"))
    before = dict(dispute.evidence)
    response = _post_dispute(client, dispute, "save_evidence", {"uncategorized_text": "x"})
    assert response.status_code == 403
    assert _post_dispute(client, dispute, "submit").status_code == 403
    assert _post_dispute(client, dispute, "block_email").status_code == 403
    dispute.refresh_from_db()
    assert dispute.evidence == before and dispute.submitted_at is None


def test_submitting_dispute_evidence_is_written_to_the_admin_log(client, akm_order, manager):  # noqa: F811
    dispute = dispute_event_handle(event=dispute_event(akm_order))
    staff_login(client=client, user=manager)
    assert _post_dispute(client, dispute, "submit").status_code == 302
    dispute.refresh_from_db()
    assert dispute.submitted_by == manager
    assert admin_log(obj=dispute, user=manager) == ["submit: Evidence submitted."]


def _post_dispute(client, dispute, action, data=None):
    return client.post(f"/admin/refunds/dispute/{dispute.pk}/act/{action}/", data or {})
