"""The claim's status moves are the claim machine's: a move it lacks is refused with the
claims error staff see (status unchanged, no event), and the admin offers only the moves
that apply."""

import pytest

from core.statemachine import TransitionNotAllowed
from refunds.models import CLAIM_MACHINE, ClaimEvent, ClaimEventKind
from refunds.services import (
    ClaimError,
    InvalidClaimTransition,
    claim_approve_replacement,
    claim_close,
    claim_transition,
    claim_verification_record,
)
from tests.factories import claim_new
from tests.staff import staff_login


def test_the_claim_machine_keeps_the_moves_claims_always_had():
    assert CLAIM_MACHINE.moves == {
        "submitted": {"needs_info", "verifying", "approved", "rejected", "closed"},
        "needs_info": {"submitted", "verifying", "approved", "rejected", "closed"},
        "verifying": {"needs_info", "approved", "rejected", "closed"},
        "approved": {"closed"},
        "rejected": {"closed"},
        "closed": set(),
    }


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_a_move_the_machine_lacks_is_refused_and_changes_nothing(preset, delivered):
    order, key = delivered
    claim = claim_new(order=order, key=key)
    claim_close(claim=claim, reason="resolved by phone", notify=False)
    events = ClaimEvent.objects.filter(claim=claim).count()
    with pytest.raises(InvalidClaimTransition) as caught:
        claim_transition(claim=claim, to_status="submitted", reason="reopen")
    assert isinstance(caught.value, ClaimError) and isinstance(caught.value, TransitionNotAllowed)
    assert (caught.value.from_status, caught.value.to_status) == ("closed", "submitted")
    claim.refresh_from_db()
    assert claim.status == "closed"
    assert ClaimEvent.objects.filter(claim=claim).count() == events


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_needs_info_since_follows_the_move_in_the_same_write(preset, delivered):
    order, key = delivered
    claim = claim_new(order=order, key=key)
    claim = claim_transition(claim=claim, to_status="needs_info", reason="asked")
    claim.refresh_from_db()
    assert claim.needs_info_since is not None
    claim = claim_transition(claim=claim, to_status="submitted", reason="answered")
    claim.refresh_from_db()
    assert claim.needs_info_since is None
    moves = list(claim.events.filter(kind="status").values_list("from_status", "to_status"))
    assert moves == [("submitted", "needs_info"), ("needs_info", "submitted")]


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_every_claim_event_written_has_a_declared_kind(preset, delivered, agent):
    order, key = delivered
    claim = claim_new(order=order, key=key)
    claim_verification_record(claim=claim, actor=agent, result="confirmed_defective")
    claim_approve_replacement(claim=claim, actor=agent)
    kinds = set(ClaimEvent.objects.filter(claim=claim).values_list("kind", flat=True))
    assert kinds >= {ClaimEventKind.SUBMITTED, ClaimEventKind.STATUS}
    assert kinds <= set(ClaimEventKind.values)


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_the_admin_offers_close_only_while_the_machine_allows_it(
    preset, delivered, client, manager
):
    order, key = delivered
    claim = claim_new(order=order, key=key)
    staff_login(client=client, user=manager)
    page = client.get(f"/admin/refunds/claim/{claim.pk}/change/").content.decode()
    assert f"/admin/refunds/claim/{claim.pk}/act/close/" in page
    claim_close(claim=claim, reason="resolved by phone", notify=False)
    page = client.get(f"/admin/refunds/claim/{claim.pk}/change/").content.decode()
    assert f"/admin/refunds/claim/{claim.pk}/act/close/" not in page
