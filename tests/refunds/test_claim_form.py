"""The customer's claim form: policy preview before submitting, deadline, window and
excluded reasons, uploads that fail without losing what was typed, access."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from refunds.models import Claim, ClaimStatus
from tests.factories import order_delivered_new, png_bytes, upload_new


def form_data(key, **extra):
    data = {
        "item": f"key-{key.pk}",
        "reason": "key_invalid",
        "failed_at": "",
        "description": "Activation says the key is invalid (0xC004C003).",
    }
    data.update(extra)
    return data


def preview_then_submit(client, order, key, **extra):
    url = f"/claims/new/{order.number}/"
    before = Claim.objects.count()
    response = client.post(url, form_data(key, preview="1", **extra))
    assert Claim.objects.count() == before  # a preview files nothing
    assert response.status_code == 200, response.content.decode()[:2000]
    token = response.context["form"].data["preview_token"]
    ids = response.context["form"].data["evidence_ids"]
    extra.pop("screenshots", None)  # already stored by the preview
    data = form_data(key, submit="1", preview_token=token, evidence_ids=ids, **extra)
    return response, client.post(url, data)


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_customer_sees_the_policy_and_deadline_before_submitting_then_gets_a_number_and_email(
    client, preset, delivered, customer, django_capture_on_commit_callbacks
):
    order, key = delivered
    client.force_login(customer)
    page = client.get(f"/claims/new/{order.number}/")
    assert page.status_code == 200
    assert "Send the claim" not in page.content.decode()  # only after the preview

    with django_capture_on_commit_callbacks(execute=True):
        preview, done = preview_then_submit(client, order, key)
    html = preview.content.decode()
    assert "What our policy says" in html
    assert "check the key with its issuer" in html  # novakeys verifies first
    assert 'href="/policies/warranty/#clause-novakeys.verification"' in html
    assert "Asia/Riyadh" in html and "Our policy gives us until" in html

    claim = Claim.objects.get()
    assert done.status_code == 302 and done["Location"] == f"/claims/{claim.number}/"
    assert claim.status == ClaimStatus.SUBMITTED and claim.user == customer
    assert claim.key == key and claim.preset_slug == "novakeys"
    assert (claim.submitted_outcome, claim.submitted_clause) == ("verify", "novakeys.verification")
    # 2 business days in Sun-Thu 09:00-17:00 Asia/Riyadh
    due = claim.verification_due_at.astimezone(preset.rules_get().calendar.tz)
    assert due.weekday() in (6, 0, 1, 2, 3) and 9 <= due.hour <= 17
    confirmation = [m for m in mail.outbox if m.to == [customer.email]][-1]
    assert claim.number in confirmation.subject
    assert "novakeys" in confirmation.body or "/policies/" in confirmation.body
    page = client.get(f"/claims/{claim.number}/")
    assert claim.number in page.content.decode()


@pytest.mark.parametrize("preset", ["microprokey"], indirect=True)
def test_a_claim_after_the_window_is_not_offered_and_the_service_refuses_it(
    client, preset, delivered, customer
):
    from refunds.services import ClaimNotAccepted, claim_submit

    order, key = delivered
    type(order).objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(days=8))
    order.refresh_from_db()
    client.force_login(customer)
    page = client.get(f"/claims/new/{order.number}/").content.decode()
    assert 'value="key_invalid"' not in page
    assert "after the 7-day window counted from the purchase had closed" in page
    response = client.post(f"/claims/new/{order.number}/", form_data(key, preview="1"))
    assert response.status_code == 400
    with pytest.raises(ClaimNotAccepted) as refused:
        claim_submit(
            order=order,
            order_line=key.order_line,
            key=key,
            reason="key_invalid",
            failed_at=None,
            description="invalid",
            user=customer,
        )
    assert refused.value.decision.clause == "microprokey.error_window"
    assert Claim.objects.count() == 0


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_excluded_reasons_are_explained_not_offered_and_refused(
    client, preset, delivered, customer
):
    order, key = delivered
    client.force_login(customer)
    page = client.get(f"/claims/new/{order.number}/").content.decode()
    assert 'value="lost_code"' not in page  # not a choice...
    assert "You lost the code" in page  # ...but explained in one line
    assert "This policy excludes a code you lost" in page
    assert "novakeys.out_of_scope" not in page  # no internal code
    response = client.post(
        f"/claims/new/{order.number}/", form_data(key, reason="lost_code", preview="1")
    )
    assert response.status_code == 400
    assert Claim.objects.count() == 0


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_the_service_refuses_an_excluded_reason_citing_its_clause(preset, delivered):
    from refunds.services import ClaimNotAccepted, claim_submit

    order, key = delivered
    with pytest.raises(ClaimNotAccepted) as refused:
        claim_submit(
            order=order,
            order_line=key.order_line,
            key=key,
            reason="shared_code",
            failed_at=None,
            description="I shared it",
            user=order.user,
        )
    assert refused.value.decision.clause == "novakeys.out_of_scope"


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_a_bad_file_is_refused_with_a_message_and_everything_typed_is_kept(
    client, preset, delivered, customer
):
    order, key = delivered
    client.force_login(customer)
    good = upload_new(name="good.png", data=png_bytes())
    bad = upload_new(
        name="evil.png", data=b"<html><script>alert(1)</script>", content_type="image/png"
    )
    data = form_data(key, preview="1", description="Typed with care: error 0xC004F050")
    data["screenshots"] = [good, bad]
    response = client.post(f"/claims/new/{order.number}/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "evil.png: This file is not a PNG, JPEG or WebP image" in html
    assert "Typed with care: error 0xC004F050" in html
    assert (
        'value="key_invalid" checked' in html
        or 'checked value="key_invalid"' in html
        or "checked" in html
    )
    assert "good.png" in html  # the good one is kept (listed as attached)
    kept = response.context["form"].data["evidence_ids"]
    assert kept


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_uploaded_screenshots_survive_the_preview_and_are_attached(
    client, preset, delivered, customer
):
    order, key = delivered
    client.force_login(customer)
    preview, done = preview_then_submit(client, order, key, screenshots=upload_new(name="err.png"))
    claim = Claim.objects.get()
    assert [e.original_name for e in claim.evidence.all()] == ["err.png"]


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_another_customers_claim_and_order_are_404(
    client, preset, delivered, customer, other_customer
):
    from tests.factories import claim_new

    order, key = delivered
    claim = claim_new(order=order, key=key)
    client.force_login(other_customer)
    assert client.get(f"/claims/{claim.number}/").status_code == 404
    assert client.post(f"/claims/{claim.number}/", {"body": "hi"}).status_code == 404
    assert client.get(f"/claims/new/{order.number}/").status_code == 404
    client.logout()
    assert client.get(f"/claims/{claim.number}/").status_code == 404


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_a_guest_files_a_claim_from_the_tracking_page_session(
    client, preset, stocked, django_capture_on_commit_callbacks
):
    from keys.models import Key

    order = order_delivered_new(product=stocked, email="guest@example.com")
    key = Key.objects.get(order_line__order=order)
    assert client.get(f"/claims/new/{order.number}/").status_code == 404  # not yet tracked
    response = client.post("/orders/track/", {"number": order.number, "email": "guest@example.com"})
    assert response.status_code in (200, 302)
    with django_capture_on_commit_callbacks(execute=True):
        preview, done = preview_then_submit(client, order, key)
    claim = Claim.objects.get()
    assert claim.user is None and claim.guest_email == "guest@example.com"
    assert client.get(f"/claims/{claim.number}/").status_code == 200
    assert any(m.to == ["guest@example.com"] and claim.number in m.subject for m in mail.outbox)


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_one_open_claim_per_key(preset, delivered):
    from refunds.services import ClaimError
    from tests.factories import claim_new

    order, key = delivered
    first = claim_new(order=order, key=key)
    with pytest.raises(ClaimError, match=first.number):
        claim_new(order=order, key=key)


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_a_french_customers_claim_email_is_in_french_with_the_stores_time_zone(
    client, preset, delivered, customer, django_capture_on_commit_callbacks
):
    order, key = delivered
    client.force_login(customer)
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    with django_capture_on_commit_callbacks(execute=True):
        preview_then_submit(client, order, key)
    claim = Claim.objects.get()
    assert claim.language == "fr"
    email = [m for m in mail.outbox if m.to == [customer.email]][-1]
    assert "Motif : La clé est signalée comme invalide" in email.body  # label in French
    assert "(Vérification sous 2 jours ouvrés)" in email.body  # clause title in French
    assert "Asia/Riyadh" in email.body
    due_local = claim.verification_due_at.astimezone(preset.rules_get().calendar.tz)
    assert f"{due_local:%H:%M}" in email.body  # the time shown is the store's local time
