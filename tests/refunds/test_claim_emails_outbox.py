"""Claim emails go through the outbox: a redelivered task sends nothing twice, and the
replacement email's code is audited (channel email) only once a server accepted it."""

import pytest
from django.core import mail
from django.utils import timezone

from core.models import OutboundEmail
from core.outbox import outbox_send_due
from keys.models import KeyView
from refunds.tasks import claim_customer_notify_task
from tests.factories import claim_new

pytestmark = pytest.mark.django_db(transaction=True)


def _claim_mails(claim):
    return [m for m in mail.outbox if m.extra_headers.get("X-Keystore-Claim") == claim.number]


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_a_redelivered_claim_email_task_sends_once(preset, delivered):
    order, key = delivered
    claim = claim_new(order=order, key=key)
    assert len(_claim_mails(claim)) == 1  # claim_received
    # the broker delivers the same task again (a worker lost before its ack), twice
    claim_customer_notify_task.apply(args=[claim.pk, "claim_received"])
    claim_customer_notify_task.apply(args=[claim.pk, "claim_received"])
    [message] = OutboundEmail.objects.filter(idempotency_key__startswith=f"claim:{claim.pk}:")
    assert message.status == "sent" and message.attempts == 1
    assert len(_claim_mails(claim)) == 1


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_replacement_code_is_audited_as_emailed_only_once_accepted(
    preset, settings, delivered, agent
):
    from refunds.services import claim_approve_replacement, claim_verification_record

    order, key = delivered
    claim = claim_new(order=order, key=key)
    claim_verification_record(claim=claim, actor=agent, result="confirmed_defective")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    claim = claim_approve_replacement(claim=claim, actor=agent)
    replacement = claim.replacement_key_id
    assert replacement
    assert not KeyView.objects.filter(key_id=replacement, channel="email").exists()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    OutboundEmail.objects.filter(status="pending").update(next_attempt_at=timezone.now())
    outbox_send_due()
    assert KeyView.objects.filter(key_id=replacement, channel="email").count() == 1
    [sent] = [m for m in _claim_mails(claim) if claim.replacement_key.last4 in m.body]
    assert sent.to == [order.email]
