import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import User
from accounts.services import user_suspend

pytestmark = pytest.mark.django_db


def test_signup_with_email_sends_a_verification_email(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the outbox sends on commit
        response = client.post(
            reverse("account_signup"),
            {
                "email": "new@example.com",
                "password1": "a-long-unusual-pass-42",
                "password2": "a-long-unusual-pass-42",
            },
        )
    assert response.status_code == 302
    assert User.objects.filter(email="new@example.com").exists()
    assert any("new@example.com" in m.to for m in mail.outbox)


def test_email_is_unique_regardless_of_case(db):
    User.objects.create_user(email="Case@Example.com", password="x")
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        User.objects.create(email="case@example.com")


def test_signup_form_keeps_what_the_user_typed_on_error(client):
    response = client.post(
        reverse("account_signup"),
        {
            "email": "keep@example.com",
            "password1": "short",
            "password2": "different",
        },
    )
    assert response.status_code == 200
    assert 'value="keep@example.com"' in response.content.decode()


def test_dashboard_requires_login(client):
    response = client.get(reverse("accounts:dashboard"))
    assert response.status_code == 302


def test_verified_user_can_log_in_and_see_dashboard(client, user):
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": "correct horse battery staple"}
    )
    assert response.status_code == 302
    response = client.get(reverse("accounts:dashboard"))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


def test_suspended_user_cannot_log_in(client, user):
    user_suspend(user=user, reason="chargeback")
    client.post(
        reverse("account_login"), {"login": user.email, "password": "correct horse battery staple"}
    )
    assert client.get(reverse("accounts:dashboard")).status_code == 302
    assert user.account_events.filter(kind="suspended").count() == 1


def test_repeated_failed_logins_are_rate_limited(client, user):
    statuses = []
    for _ in range(8):
        r = client.post(reverse("account_login"), {"login": user.email, "password": "wrong"})
        statuses.append(r.status_code)
    assert 429 in statuses or "Too many failed login attempts" in r.content.decode()


def test_staff_with_totp_must_enter_a_code_before_reaching_the_admin(client, staff_user):
    from allauth.mfa.totp.internal.auth import (
        TOTP,
        format_hotp_value,
        generate_totp_secret,
        hotp_value,
        yield_hotp_counters_from_time,
    )

    secret = generate_totp_secret()
    TOTP.activate(staff_user, secret)
    response = client.post(
        reverse("account_login"),
        {"login": staff_user.email, "password": "correct horse battery staple"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert client.get("/admin/").status_code == 302  # not signed in yet

    counter = next(iter(yield_hotp_counters_from_time()))
    code = format_hotp_value(hotp_value(secret, counter))
    client.post(reverse("mfa_authenticate"), {"code": code})
    assert client.get("/admin/").status_code == 200


def test_password_reset_sends_a_link_to_a_known_address(
    client, user, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # the outbox sends on commit
        client.post(reverse("account_reset_password"), {"email": user.email})
    assert len(mail.outbox) == 1
    assert "/accounts/password/reset/key/" in mail.outbox[0].body


def test_an_account_email_is_erased_from_the_outbox_once_a_server_accepted_it(
    client, user, django_capture_on_commit_callbacks
):
    """A password-reset link is a secret: it stays in the outbox only until it is sent."""
    from core.models import OutboundEmail

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_reset_password"), {"email": user.email})
    [message] = OutboundEmail.objects.filter(audience="account")
    assert message.status == "sent" and message.recipients == [user.email]
    assert message.body_text == message.body_html == ""
    assert "/accounts/password/reset/key/" in mail.outbox[-1].body


def test_dashboard_lists_the_customers_claims_and_how_to_open_one(client, user):
    client.force_login(user)
    body = client.get(reverse("accounts:dashboard")).content.decode()
    assert "Your claims" in body
    assert reverse("refunds:list") in body
