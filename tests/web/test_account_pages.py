"""allauth's pages in the shop's layout: each error sits under the field it is about and is
tied to it for screen readers; allauth's emails greet in the shop's name, not the host."""

import re

import pytest
from django.core import mail
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _field_blocks(html):
    return re.findall(r'<div class="field">(.*?)\n</div>', html, flags=re.S)


def test_a_password_error_sits_under_the_password_field_not_the_email(client):
    response = client.post(
        reverse("account_signup"),
        {"email": "keep@example.com", "password1": "short", "password2": "short"},
    )
    html = response.content.decode()
    blocks = _field_blocks(html)
    email = next(b for b in blocks if 'name="email"' in b)
    password = next(b for b in blocks if 'name="password1"' in b)
    assert "too short" not in email
    assert "too short" in password
    assert password.index('name="password1"') < password.index("too short")
    assert 'aria-invalid="true"' in password
    assert 'value="keep@example.com"' in email


def test_the_login_page_keeps_remember_me_beside_its_label(client):
    html = client.get(reverse("account_login")).content.decode()
    assert re.search(r'<label for="id_remember"><input type="checkbox"[^>]*id="id_remember"', html)


def test_the_verification_email_greets_in_the_shops_name(
    client, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # the outbox sends on commit
        client.post(
            reverse("account_signup"),
            {
                "email": "new@example.com",
                "password1": "a-long-unusual-pass-42",
                "password2": "a-long-unusual-pass-42",
            },
        )
    [message] = [m for m in mail.outbox if "new@example.com" in m.to]
    assert f"Hello from {settings.SHOP_NAME}!" in message.body
    assert "Hello from testserver" not in message.body
