"""Beat tasks: verification deadlines escalate to staff once; claims waiting on the
customer close after the configured time with notice; repeated claims flag the account."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from refunds import tasks
from refunds.models import Claim, ClaimStatus
from refunds.services import claim_info_request
from tests.factories import claim_new, order_delivered_new
from tests.staff import staff_login


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_a_due_verification_is_escalated_to_staff_exactly_once(
    preset, delivered, django_capture_on_commit_callbacks
):
    order, key = delivered
    claim = claim_new(order=order, key=key)
    assert tasks.claims_escalate_due_task.delay().get() == 0  # 2 business days away
    Claim.objects.filter(pk=claim.pk).update(
        verification_due_at=timezone.now() + timedelta(hours=1)
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # the outbox sends on commit
        assert tasks.claims_escalate_due_task.delay().get() == 1
        assert tasks.claims_escalate_due_task.delay().get() == 0
    (alert,) = mail.outbox
    assert alert.to == ["staff@keystore.test"] and claim.number in alert.subject
    assert "due soon" in alert.subject
    claim.refresh_from_db()
    assert claim.escalated_at is not None and claim.events.filter(kind="escalated").count() == 1


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_an_overdue_verification_says_overdue(
    preset, delivered, django_capture_on_commit_callbacks
):
    order, key = delivered
    claim = claim_new(order=order, key=key)
    Claim.objects.filter(pk=claim.pk).update(
        verification_due_at=timezone.now() - timedelta(hours=1)
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # the outbox sends on commit
        tasks.claims_escalate_due_task.delay()
    assert "overdue" in mail.outbox[0].subject


@pytest.mark.parametrize("preset", ["windowskeymart"], indirect=True)
def test_a_preset_without_a_verification_time_uses_the_internal_target(preset, delivered):
    order, key = delivered
    claim = claim_new(order=order, key=key)
    assert claim.verification_due_source == "internal"
    assert claim.verification_due_at - claim.created_at <= timedelta(hours=24, minutes=1)


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_a_claim_waiting_on_the_customer_closes_after_the_set_time_with_notice(
    preset, delivered, customer, agent, settings, django_capture_on_commit_callbacks
):
    settings.CLAIM_NEEDS_INFO_CLOSE_DAYS = 14
    order, key = delivered
    claim = claim_new(order=order, key=key)
    claim_info_request(claim=claim, actor=agent, body="Screenshot please")
    assert tasks.claims_close_stale_task.delay().get() == 0
    Claim.objects.filter(pk=claim.pk).update(needs_info_since=timezone.now() - timedelta(days=15))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.claims_close_stale_task.delay().get() == 1
    assert tasks.claims_close_stale_task.delay().get() == 0
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.CLOSED
    (notice,) = [m for m in mail.outbox if m.to == [customer.email]]
    assert "did not hear back" in notice.body


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_repeated_claims_flag_the_customer(preset, stocked, customer, settings):
    from keys.models import Key

    settings.CLAIM_ABUSE_THRESHOLD = 3
    for n in range(3):
        customer.refresh_from_db()
        assert not customer.is_flagged, n
        order = order_delivered_new(product=stocked, user=customer)
        claim_new(order=order, key=Key.objects.get(order_line__order=order))
    customer.refresh_from_db()
    assert customer.is_flagged and "3 claims in 30 days" in customer.flagged_reason


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_staff_block_the_customers_email_domain_and_ip_for_future_checkouts(
    preset, client, delivered, agent
):
    from orders.models import BlocklistEntry
    from orders.selectors import blocklist_matches

    order, key = delivered
    claim = claim_new(order=order, key=key)
    staff_login(client=client, user=agent)
    for action in ("block_email", "block_domain", "block_ip"):
        assert client.post(f"/admin/refunds/claim/{claim.pk}/act/{action}/").status_code == 302
    assert set(BlocklistEntry.objects.values_list("kind", "value")) == {
        ("email", "alice@example.com"),
        ("email_domain", "example.com"),
        ("ip", order.purchase_ip),
    }
    assert blocklist_matches(email="someone@example.com", ip=None, card_fingerprint="")


def test_screenshots_of_claims_never_sent_are_purged_after_a_day(db):
    from core.storage import private_storage
    from refunds.models import Evidence
    from refunds.services import evidence_create
    from tests.factories import upload_new

    fresh = evidence_create(upload=upload_new(), upload_token="t1")
    stale = evidence_create(upload=upload_new(), upload_token="t2")
    Evidence.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(days=2))
    storage = private_storage()
    assert storage.exists(stale.storage_name)
    tasks.claims_close_stale_task.delay()
    assert list(Evidence.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert not storage.exists(stale.storage_name)
