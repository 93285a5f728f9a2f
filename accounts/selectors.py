"""Reads about accounts: verified addresses, the staff second-factor step. (My Account's
page, which reads orders and claims, is composed in ``web.selectors``.)"""

from __future__ import annotations

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator

from .models import User


def user_verified_emails(*, user: User) -> list[str]:
    """The addresses this user has proven they own (allauth EmailAddress.verified)."""
    return [
        e.lower()
        for e in EmailAddress.objects.filter(user=user, verified=True).values_list(
            "email", flat=True
        )
    ]


STAFF_MFA_OK = "ok"
STAFF_MFA_ENROL = "enrol"  # no TOTP authenticator yet: set one up
STAFF_MFA_VERIFY = "verify"  # has TOTP, but this session never passed it


def staff_mfa_step_get(*, user: User, authentication_records: list[dict]) -> str:
    """What a staff member must still do before using the admin.

    ``authentication_records`` are allauth's records of how this session signed in
    (``allauth.account.authentication.get_authentication_records``); a completed
    second factor leaves one with ``method == "mfa"``.
    """
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        return STAFF_MFA_ENROL
    if not any(record.get("method") == "mfa" for record in authentication_records):
        return STAFF_MFA_VERIFY
    return STAFF_MFA_OK
