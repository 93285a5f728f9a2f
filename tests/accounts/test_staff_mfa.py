"""Staff use the admin only with a second factor (TOTP), superusers included; staff made
on the command line can sign in at once; customers are not affected."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.factories import UserFactory
from tests.staff import staff_login, staff_totp_ensure, totp_code_now

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def _password_login(client, user):
    return client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})


def test_password_only_staff_session_is_sent_to_totp_enrolment_not_the_admin(client):
    boss = UserFactory(email="boss@example.com", is_staff=True, is_superuser=True)
    _password_login(client, boss)
    response = client.get("/admin/orders/order/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_activate_totp"))
    assert "next=%2Fadmin%2Forders%2Forder%2F" in response["Location"]


@pytest.mark.django_db(transaction=True)  # allauth reports the enrolment on commit
def test_enrolling_totp_through_allauth_opens_the_admin(client):
    boss = UserFactory(email="boss@example.com", is_staff=True, is_superuser=True)
    _password_login(client, boss)
    enrol = client.get("/admin/")["Location"]
    confirm = client.get(enrol)  # allauth asks for the password again before enrolling
    assert confirm["Location"].startswith(reverse("account_reauthenticate"))
    client.post(confirm["Location"], {"password": PASSWORD})
    page = client.get(enrol)
    assert page.status_code == 200
    secret = page.context["form"].secret
    response = client.post(reverse("mfa_activate_totp"), {"code": totp_code_now(secret=secret)})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_staff_with_totp_whose_session_skipped_it_must_pass_the_second_factor(client):
    agent = UserFactory(email="agent@example.com", is_staff=True)
    staff_totp_ensure(user=agent)
    client.force_login(agent)  # e.g. signed in before enrolling: no MFA in this session
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_reauthenticate"))
    client.post(reverse("mfa_reauthenticate"), {"code": totp_code_now()})
    assert client.get("/admin/").status_code == 200


def test_a_completed_mfa_sign_in_opens_the_admin(client, staff_user):
    staff_login(client=client, user=staff_user)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/orders/order/").status_code == 200


def test_admin_logout_needs_no_second_factor(client):
    boss = UserFactory(email="boss@example.com", is_staff=True, is_superuser=True)
    client.force_login(boss)
    assert client.post(reverse("admin:logout")).status_code == 200


def test_customers_are_not_affected(client, user):
    _password_login(client, user)
    assert client.get(reverse("accounts:dashboard")).status_code == 200
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")  # not staff: no admin


def test_a_createsuperuser_account_can_sign_in_without_confirming_its_email(client, monkeypatch):
    from allauth.account.models import EmailAddress

    from accounts.models import User

    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command("createsuperuser", email="root@example.com", interactive=False, verbosity=0)
    root = User.objects.get(email="root@example.com")
    response = _password_login(client, root)
    assert response.status_code == 302
    assert response["Location"] != reverse("account_email_verification_sent")
    assert EmailAddress.objects.get(user=root).verified
    follow = client.get("/admin/")
    assert follow["Location"].startswith(reverse("mfa_activate_totp"))  # then TOTP


def test_a_customer_with_an_unconfirmed_address_still_has_to_confirm_it(client):
    from allauth.account.models import EmailAddress

    customer = UserFactory(email="new@example.com", verified=False)
    EmailAddress.objects.create(user=customer, email=customer.email, verified=False)
    response = _password_login(client, customer)
    assert response["Location"] == reverse("account_email_verification_sent")


def test_authenticator_apps_show_the_shops_own_name():
    from allauth.mfa.adapter import get_adapter

    from core.identity import shop_identity_update

    shop_identity_update(name="Clé Shop")
    assert get_adapter().get_totp_issuer() == "Clé Shop"
