"""Suspension ends every open session of the account at once, key reveal included; only a
superuser may suspend a superuser."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from accounts.services import user_suspend, user_unsuspend
from keys.models import KeyView
from tests.factories import ProductFactory, UserFactory, keys_create, order_delivered_new

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(settings):
    """Alice, her delivered order's key, and two browsers where she is signed in."""
    settings.PAYMENT_GATEWAY = "test"
    alice = UserFactory(email="alice@example.com")
    product = ProductFactory(name="Windows 11 Pro", slug="windows-11-pro")
    keys_create(product=product, count=1)
    order = order_delivered_new(product=product, user=alice)
    key = order.lines.get().keys.get()
    browsers = [Client(), Client()]
    for browser in browsers:
        browser.force_login(alice)
        assert browser.get(reverse("accounts:dashboard")).status_code == 200
    return alice, order, key, browsers


def test_suspending_an_account_signs_out_every_open_session_at_once(signed_in):
    alice, order, key, (phone, laptop) = signed_in
    user_suspend(user=alice, reason="chargeback")

    assert phone.get(reverse("accounts:dashboard")).status_code == 302  # to the login page
    reveal = laptop.post(reverse("orders:key_reveal", args=[order.number, key.pk]))
    assert reveal.status_code == 404
    assert not KeyView.objects.filter(channel="account").exists()
    assert "_auth_user_id" not in laptop.session


def test_sessions_ended_by_a_suspension_stay_ended_when_it_is_lifted(signed_in):
    alice, _order, _key, (phone, _laptop) = signed_in
    user_suspend(user=alice, reason="chargeback")
    user_unsuspend(user=alice, reason="resolved")
    assert phone.get(reverse("accounts:dashboard")).status_code == 302


def test_a_new_sign_in_after_the_suspension_is_lifted_works(signed_in):
    alice, *_ = signed_in
    user_suspend(user=alice, reason="chargeback")
    user_unsuspend(user=alice, reason="resolved")
    alice.refresh_from_db()
    fresh = Client()
    fresh.force_login(alice)
    assert fresh.get(reverse("accounts:dashboard")).status_code == 200


def test_a_non_superuser_cannot_suspend_a_superuser():
    root = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    manager = UserFactory(email="manager@example.com", is_staff=True)
    with pytest.raises(PermissionDenied):
        user_suspend(user=root, reason="coup", actor=manager)
    root.refresh_from_db()
    assert not root.is_suspended and root.session_generation == 0
    other_root = UserFactory(email="root2@example.com", is_staff=True, is_superuser=True)
    assert user_suspend(user=root, reason="left the company", actor=other_root).is_suspended
