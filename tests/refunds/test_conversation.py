"""Messages both ways: staff ask for more information (needs_info, email to the
customer); the customer's answer moves the claim back and alerts staff."""

import pytest
from django.core import mail

from refunds.models import ClaimStatus
from refunds.services import claim_info_request, claim_verification_record
from tests.factories import claim_new, upload_new
from tests.staff import staff_login


@pytest.mark.parametrize("preset", ["microprokey"], indirect=True)
def test_staff_ask_for_a_screenshot_and_the_customer_answers_from_the_claim_page(
    preset, client, delivered, customer, agent, django_capture_on_commit_callbacks
):
    order, key = delivered
    claim = claim_new(order=order, key=key)
    staff_login(client=client, user=agent)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/admin/refunds/claim/{claim.pk}/act/request_info/",
            {"body": "Please send a screenshot of the error and the key as you typed it."},
        )
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.NEEDS_INFO and claim.needs_info_since is not None
    (asked,) = [m for m in mail.outbox if m.to == [customer.email]]
    assert "more information" in asked.subject and "screenshot of the error" in asked.body

    client.force_login(customer)
    page = client.get(f"/claims/{claim.number}/").content.decode()
    assert "screenshot of the error" in page
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/claims/{claim.number}/",
            {"body": "Here it is: I typed it exactly.", "screenshots": upload_new(name="err.png")},
        )
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED  # verification had not started yet
    assert claim.needs_info_since is None
    assert [e.original_name for e in claim.evidence.all()] == ["err.png"]
    (alert,) = [m for m in mail.outbox if m.to == ["staff@keystore.test"]]
    assert claim.number in alert.subject and "I typed it exactly" in alert.body


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_an_answer_returns_a_claim_under_verification_to_verifying(
    preset, client, delivered, customer, agent
):
    order, key = delivered
    claim = claim_new(order=order, key=key)
    claim_verification_record(claim=claim, actor=agent, result="pending", note="asked issuer")
    claim_info_request(claim=claim, actor=agent, body="Which Windows edition do you run?")
    client.force_login(customer)
    client.post(f"/claims/{claim.number}/", {"body": "Windows 11 Pro"})
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.VERIFYING
    moves = list(claim.events.filter(kind="status").values_list("from_status", "to_status"))
    assert moves == [
        ("submitted", "verifying"),
        ("verifying", "needs_info"),
        ("needs_info", "verifying"),
    ]


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_a_reply_with_a_bad_file_is_refused_and_the_message_kept(
    preset, client, delivered, customer
):
    order, key = delivered
    claim = claim_new(order=order, key=key)
    client.force_login(customer)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    response = client.post(
        f"/claims/{claim.number}/",
        {"body": "My words stay here", "screenshots": upload_new(name="x.svg", data=svg)},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "x.svg: This file is not a PNG, JPEG or WebP image" in html
    assert "My words stay here" in html
    assert not claim.messages.exists()


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_staff_messages_are_emailed_to_the_customer(
    preset, client, delivered, customer, agent, django_capture_on_commit_callbacks
):
    order, key = delivered
    claim = claim_new(order=order, key=key)
    staff_login(client=client, user=agent)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/admin/refunds/claim/{claim.pk}/act/message/", {"body": "We're on it."})
    (sent,) = [m for m in mail.outbox if m.to == [customer.email]]
    assert "We're on it." in sent.body  # plain text is not HTML-escaped
