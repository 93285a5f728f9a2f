"""Signing staff into a test client: every test that opens the admin goes through here.

Staff sign-in carries more than a password (the admin requires a second factor), so
tests never call ``client.force_login`` for a staff member directly: this helper leaves
what a completed allauth sign-in with TOTP leaves behind. Browser tests sign in for real
with :func:`totp_code_now`.
"""

from __future__ import annotations

import time

from django.test import Client

STAFF_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # base32, test-only


def staff_totp_ensure(*, user, secret: str = STAFF_TOTP_SECRET):
    """The user's TOTP authenticator (made with ``secret`` if they have none)."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP

    existing = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    return existing or TOTP.activate(user, secret).instance


def totp_code_now(*, secret: str = STAFF_TOTP_SECRET) -> str:
    """The code an authenticator app shows for ``secret`` right now (allauth's own maths)."""
    from allauth.mfa.totp.internal.auth import (
        format_hotp_value,
        hotp_value,
        yield_hotp_counters_from_time,
    )

    counter = next(iter(yield_hotp_counters_from_time()))
    return format_hotp_value(hotp_value(secret, counter))


def staff_login(*, client: Client, user) -> Client:
    """Sign ``user`` (a staff member) into ``client`` as a completed admin sign-in:
    password, then TOTP, recorded in the session the way allauth's login flow does."""
    from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY
    from allauth.account.internal.flows.login import _AUTHENTICATION_METHODS_USER_SESSION_KEY
    from allauth.account.internal.userkit import user_id_to_str

    authenticator = staff_totp_ensure(user=user)
    client.force_login(user)
    session = client.session
    now = time.time()
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": now, "email": user.email},
        {"method": "mfa", "at": now, "id": authenticator.pk, "type": "totp"},
    ]
    session[_AUTHENTICATION_METHODS_USER_SESSION_KEY] = user_id_to_str(user)
    session.save()
    return client


def staff_login_browser(*, page, user, password: str = "correct horse battery staple") -> None:
    """Sign ``user`` in through the real pages, as staff do: /admin/ sends them to
    allauth's login, then to the TOTP step, where the code is computed from the secret."""
    staff_totp_ensure(user=user)
    page.goto("/admin/")
    page.locator('input[name="login"]').fill(user.email)
    page.locator('input[name="password"]').fill(password)
    page.locator('input[name="password"]').press("Enter")
    page.wait_for_url("**/2fa/authenticate/**")
    page.locator('input[name="code"]').fill(totp_code_now())
    page.locator('input[name="code"]').press("Enter")
    page.wait_for_url("**/admin/")
