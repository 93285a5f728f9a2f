"""Reveal: every decryption is audited; staff need their own permission; no caching."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from keys.models import KeyView
from keys.services import (
    KeyNotRevealable,
    KeyTransitionError,
    key_allocate,
    key_release,
    key_reveal,
)
from tests.factories import UserFactory, key_code_new, keys_create
from tests.keys.conftest import order_line_new
from tests.staff import staff_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered(win):
    code = key_code_new(win)
    keys_create(product=win, count=1, codes=[code])
    line = order_line_new(product=win)
    (key,) = key_allocate(order_line=line, quantity=1).keys
    return key, code


def test_reveal_returns_the_code_and_writes_a_view_row_with_ip_agent_and_channel(delivered):
    key, code = delivered
    buyer = UserFactory()

    shown = key_reveal(
        key=key, channel="account", ip="203.0.113.7", user_agent="Firefox/140", user=buyer
    )
    again = key_reveal(
        key=key,
        channel="tracking",
        ip="2001:db8::1",
        user_agent="Safari",
        guest_email="a@b.example",
    )

    assert shown == again == code
    first, second = KeyView.objects.filter(key=key).order_by("id")
    assert (first.user, first.ip, first.user_agent, first.channel, first.first_view) == (
        buyer,
        "203.0.113.7",
        "Firefox/140",
        "account",
        True,
    )
    assert (second.guest_email, second.ip, second.channel, second.first_view) == (
        "a@b.example",
        "2001:db8::1",
        "tracking",
        False,
    )
    key.refresh_from_db()
    assert key.first_viewed_at == first.created_at


def test_the_delivery_email_is_audited_but_is_not_a_view_by_the_customer(delivered):
    key, _code = delivered
    key_reveal(key=key, channel="email", ip=None, user_agent="", guest_email="buyer@example.com")
    key.refresh_from_db()
    assert key.first_viewed_at is None
    assert KeyView.objects.get(key=key).channel == "email"


def test_a_garbage_ip_is_not_stored(delivered):
    key, _code = delivered
    key_reveal(key=key, channel="screen", ip="not-an-ip", user_agent="x" * 1000)
    view = KeyView.objects.get(key=key)
    assert view.ip is None and len(view.user_agent) == 400


def test_customers_cannot_see_a_reserved_key(win):
    keys_create(product=win, count=1)
    (key,) = key_allocate(
        order_line=order_line_new(product=win), quantity=1, status="reserved"
    ).keys
    with pytest.raises(KeyNotRevealable):
        key_reveal(key=key, channel="screen", ip="203.0.113.7", user_agent="UA")
    assert not KeyView.objects.exists()
    key_release(key=key, actor=None, reason="hold cancelled")  # still clean: back to stock


def test_staff_reveal_needs_the_reveal_permission(client, delivered):
    key, code = delivered
    plain_staff = UserFactory(email="plain-staff@example.com", is_staff=True)
    with pytest.raises(PermissionDenied):
        key_reveal(key=key, channel="staff", ip="198.51.100.1", user_agent="UA", user=plain_staff)

    staff_login(client=client, user=plain_staff)
    response = client.post(reverse("admin:keys_key_reveal", args=[key.pk]), {"reason": "check"})
    assert response.status_code == 403
    assert code not in response.content.decode()
    assert not KeyView.objects.exists()


def test_staff_reveal_in_the_admin_shows_the_code_once_uncached_and_audited(
    client, delivered, revealer
):
    key, code = delivered
    staff_login(client=client, user=revealer)
    url = reverse("admin:keys_key_reveal", args=[key.pk])

    confirm = client.get(url)
    assert confirm.status_code == 200 and code not in confirm.content.decode()

    response = client.post(
        url,
        {"reason": "customer says it was already used"},
        REMOTE_ADDR="198.51.100.4",
        HTTP_USER_AGENT="StaffBrowser",
    )
    assert response.status_code == 200
    assert code in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    view = KeyView.objects.get(key=key)
    assert (view.channel, view.user, view.ip, view.user_agent, view.reason, view.first_view) == (
        "staff",
        revealer,
        "198.51.100.4",
        "StaffBrowser",
        "customer says it was already used",
        False,
    )


def test_a_staff_look_at_a_reserved_key_keeps_it_out_of_stock(win, revealer):
    keys_create(product=win, count=1)
    (key,) = key_allocate(
        order_line=order_line_new(product=win), quantity=1, status="reserved"
    ).keys
    key_reveal(key=key, channel="staff", ip=None, user_agent="", user=revealer)
    with pytest.raises(KeyTransitionError):
        key_release(key=key, actor=revealer, reason="hold cancelled")


def test_the_admin_shows_only_masked_codes(client, delivered, revealer):
    key, code = delivered
    staff_login(client=client, user=revealer)
    listing = client.get(reverse("admin:keys_key_changelist")).content.decode()
    page = client.get(reverse("admin:keys_key_change", args=[key.pk])).content.decode()
    for body in (listing, page):
        assert code not in body and code.replace("-", "") not in body
        assert key.last4 in body


def test_staff_find_a_key_by_pasting_its_code(client, delivered, revealer):
    key, code = delivered
    staff_login(client=client, user=revealer)
    body = client.get(reverse("admin:keys_key_changelist"), {"q": code.lower()}).content.decode()
    assert f"/admin/keys/key/{key.pk}/change/" in body


def _error_page_of_a_failed_reveal(key):
    """The debug/error-email HTML for a reveal that fails after decrypting (frames from here)."""
    import sys

    from django.views.debug import ExceptionReporter

    class Impostor:  # not a User: Django refuses it when the view row is written
        is_authenticated = True

        def has_perm(self, perm):
            return True

    try:
        key_reveal(key=key, channel="screen", ip=None, user_agent="", user=Impostor())
    except ValueError:
        return ExceptionReporter(None, *sys.exc_info()).get_traceback_html()
    pytest.fail("the reveal should have failed")


def test_an_error_report_raised_during_a_reveal_does_not_show_the_code(delivered):
    key, code = delivered
    report = _error_page_of_a_failed_reveal(key)
    assert "key_reveal" in report and "Local vars" in report
    assert code not in report and code.replace("-", "") not in report
