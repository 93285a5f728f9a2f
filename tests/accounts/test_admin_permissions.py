"""The user admin and the third-party admins it re-registers (allauth's email addresses,
MFA authenticators): nothing changes without its permission, each effect is logged."""

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import UserFactory
from tests.staff import staff_login
from tests.staff_perms import action_offered, admin_log, staff_with_perms

pytestmark = pytest.mark.django_db

USERS = reverse("admin:accounts_user_changelist")
ADDRESSES = reverse("admin:account_emailaddress_changelist")


def _run(client, url, action, *objs):
    return client.post(
        url, {"action": action, "_selected_action": [str(o.pk) for o in objs]}, follow=True
    )


def test_a_view_only_staff_member_cannot_suspend_anyone(client):
    root = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    customer = UserFactory(email="alice@example.com")
    staff_login(client=client, user=staff_with_perms("accounts.view_user"))
    assert not action_offered(client, changelist_url=USERS, action="suspend_selected")
    _run(client, USERS, "suspend_selected", root, customer)
    assert not User.objects.filter(is_suspended=True).exists()


def test_staff_with_suspend_user_suspend_a_customer_and_end_their_sessions(client):
    customer = UserFactory(email="alice@example.com")
    browser = Client()
    browser.force_login(customer)
    user = staff_with_perms("accounts.view_user", "accounts.suspend_user")
    staff_login(client=client, user=user)
    _run(client, USERS, "suspend_selected", customer)
    customer.refresh_from_db()
    assert customer.is_suspended
    assert admin_log(obj=customer, user=user) == ["Suspended the account; every session ended"]
    assert browser.get(reverse("accounts:dashboard")).status_code == 302
    _run(client, USERS, "unsuspend_selected", customer)
    customer.refresh_from_db()
    assert not customer.is_suspended
    assert "Lifted the suspension" in admin_log(obj=customer, user=user)


def test_a_staff_member_who_may_suspend_still_cannot_suspend_a_superuser(client):
    root = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    staff_login(client=client, user=staff_with_perms("accounts.view_user", "accounts.suspend_user"))
    page = _run(client, USERS, "suspend_selected", root).content.decode()
    assert "Only a superuser can suspend a superuser." in page
    root.refresh_from_db()
    assert not root.is_suspended


def test_a_staff_member_who_may_change_users_cannot_touch_a_superuser_or_promote_anyone(client):
    root = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    user = staff_with_perms("accounts.view_user", "accounts.change_user")
    staff_login(client=client, user=user)
    password_url = reverse("admin:auth_user_password_change", args=[root.pk])
    response = client.post(
        password_url, {"password1": "taken-over-42!", "password2": "taken-over-42!"}
    )
    assert response.status_code == 403
    root.refresh_from_db()
    assert root.check_password("correct horse battery staple")

    client.post(
        reverse("admin:accounts_user_change", args=[user.pk]),
        {"email": user.email, "first_name": "", "last_name": "", "preferred_language": "en",
         "is_active": "on", "is_staff": "on", "is_superuser": "on", "is_suspended": "on",
         "is_flagged": "", "flagged_reason": "", "account_events-TOTAL_FORMS": "0",
         "account_events-INITIAL_FORMS": "0"},
    )  # fmt: skip
    user.refresh_from_db()
    assert not user.is_superuser and not user.is_suspended


def test_a_view_only_staff_member_cannot_mark_an_address_verified(client):
    customer = UserFactory(email="victim@example.com", verified=False)
    address = EmailAddress.objects.create(user=customer, email=customer.email, verified=False)
    staff_login(client=client, user=staff_with_perms("account.view_emailaddress"))
    assert not action_offered(client, changelist_url=ADDRESSES, action="make_verified")
    _run(client, ADDRESSES, "make_verified", address)
    address.refresh_from_db()
    assert not address.verified


def test_staff_who_may_change_addresses_mark_one_verified_with_a_log_entry(client):
    customer = UserFactory(email="bob@example.com", verified=False)
    address = EmailAddress.objects.create(user=customer, email=customer.email, verified=False)
    user = staff_with_perms("account.view_emailaddress", "account.change_emailaddress")
    staff_login(client=client, user=user)
    _run(client, ADDRESSES, "make_verified", address)
    address.refresh_from_db()
    assert address.verified
    assert admin_log(obj=address, user=user) == ["Marked the address verified"]


def test_the_authenticator_admin_never_shows_a_second_factor_secret(client):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    root = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    secret = generate_totp_secret()
    authenticator = TOTP.activate(root, secret).instance
    staff_login(client=client, user=staff_with_perms("mfa.view_authenticator"))
    url = reverse("admin:mfa_authenticator_change", args=[authenticator.pk])
    page = client.get(url)
    assert page.status_code == 200 and secret not in page.content.decode()
    assert client.post(url, {"type": "totp", "data": "{}"}).status_code == 403
