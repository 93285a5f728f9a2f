"""The customer reads every claim deadline in the store's own time zone, labelled, the same
on the preview and on the claim page; a decided claim does not repeat the stale advice."""

from datetime import UTC

import pytest
from django.utils import formats, timezone

from refunds.models import Claim
from refunds.services import claim_approve_replacement, claim_verification_record
from tests.factories import claim_new

from .test_claim_form import preview_then_submit


def _local(value, tz):
    local = timezone.localtime(value, tz)
    return (
        f"{formats.date_format(local, 'j F Y')} at {local:%H:%M}, {getattr(tz, 'key', 'UTC')} time"
    )


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_preview_and_claim_page_show_the_deadline_in_the_store_time_zone(
    client, settings, preset, delivered, customer
):
    settings.TIME_ZONE = "UTC"  # the server's zone differs from the store's (Asia/Riyadh)
    order, key = delivered
    client.force_login(customer)
    preview, done = preview_then_submit(client, order, key)
    claim = Claim.objects.get()
    tz = preset.rules_get().calendar.tz
    due_local = _local(claim.verification_due_at, tz)
    assert _local(claim.verification_due_at, UTC) != due_local  # the test can tell
    deadline = preview.content.decode()
    assert f"Our policy gives us until {due_local} to verify" in deadline
    page = client.get(done["Location"]).content.decode()
    assert f">{due_local}<" in page
    # the conversation is dated on the same clock as the deadline above it
    assert f"· {_local(claim.created_at, tz)}<br>" in page


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_a_replaced_key_claim_page_does_not_repeat_the_advice_to_verify_first(
    client, preset, delivered, customer, agent
):
    order, key = delivered
    claim = claim_new(order=order, key=key)
    assert "check the key with its issuer" in claim.submitted_explanation
    claim_verification_record(claim=claim, actor=agent, result="confirmed_defective")
    claim_approve_replacement(claim=claim, actor=agent)
    client.force_login(customer)
    page = client.get(f"/claims/{claim.number}/").content.decode()
    assert 'id="replacement-note"' in page
    assert "check the key with its issuer" not in page
