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
