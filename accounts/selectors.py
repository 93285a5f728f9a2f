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


ACCOUNT_CLAIMS_PER_PAGE = 10


def dashboard_context_get(
    *, user: User, orders_page: Any = 1, claims_page: Any = 1
) -> dict[str, Any]:
    """Everything My Account shows: one page of the customer's orders with their masked
    keys, and one page of their claims. A fixed number of queries whatever the customer
    has bought or claimed."""
    from django.core.paginator import Paginator

    from orders.selectors import order_page_for_user
    from refunds.selectors import claims_for_user

    orders = order_page_for_user(user=user, page_number=orders_page)
    claims = Paginator(claims_for_user(user=user), ACCOUNT_CLAIMS_PER_PAGE).get_page(claims_page)
    return {
        "account_user": user,
        "orders_page": orders,
        "orders": orders.object_list,
        "claims_page": claims,
        "claims": claims.object_list,
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
