"""Reads for My Account. Orders and keys come from their own apps' selectors."""

from __future__ import annotations

from typing import Any

from .models import User


def user_verified_emails(*, user: User) -> list[str]:
    """The addresses this user has proven they own (allauth EmailAddress.verified)."""
    from allauth.account.models import EmailAddress

    return [
        e.lower()
        for e in EmailAddress.objects.filter(user=user, verified=True).values_list(
            "email", flat=True
        )
    ]


def dashboard_context_get(*, user: User) -> dict[str, Any]:
    """Everything My Account shows: the customer's orders with their keys, and claims."""
    from orders.selectors import order_list_for_user
    from refunds.selectors import claims_for_user

    return {
        "account_user": user,
        "orders": order_list_for_user(user=user),
        "claims": list(claims_for_user(user=user)[:50]),
    }


STAFF_MFA_OK = "ok"
STAFF_MFA_ENROL = "enrol"  # no TOTP authenticator yet: set one up
STAFF_MFA_VERIFY = "verify"  # has TOTP, but this session never passed it


def staff_mfa_step_get(*, user: User, authentication_records: list[dict]) -> str:
    """What a staff member must still do before using the admin.

    ``authentication_records`` are allauth's records of how this session signed in
    (``allauth.account.authentication.get_authentication_records``); a completed
    second factor leaves one with ``method == "mfa"``.
    """
    from allauth.mfa.models import Authenticator

    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        return STAFF_MFA_ENROL
    if not any(record.get("method") == "mfa" for record in authentication_records):
        return STAFF_MFA_VERIFY
    return STAFF_MFA_OK
