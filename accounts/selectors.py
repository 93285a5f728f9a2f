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
    context: dict[str, Any] = {"account_user": user, "orders": []}
    try:
        from orders.selectors import order_list_for_user
    except ImportError:  # the orders app adds this selector
        return context
    context["orders"] = order_list_for_user(user=user)
    return context
