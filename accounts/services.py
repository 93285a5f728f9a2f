"""Writes to accounts: suspension and flags, each with an audit row."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .models import AccountEvent, User


@transaction.atomic
def user_suspend(*, user: User, reason: str, actor: User | None = None) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_suspended:
        return user
    user.is_suspended = True
    user.suspended_reason = reason[:255]
    user.suspended_at = timezone.now()
    user.save(update_fields=["is_suspended", "suspended_reason", "suspended_at"])
    AccountEvent.objects.create(user=user, actor=actor, kind="suspended", reason=reason[:255])
    return user


@transaction.atomic
def user_unsuspend(*, user: User, reason: str, actor: User | None = None) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_suspended:
        return user
    user.is_suspended = False
    user.suspended_reason = ""
    user.suspended_at = None
    user.save(update_fields=["is_suspended", "suspended_reason", "suspended_at"])
    AccountEvent.objects.create(user=user, actor=actor, kind="unsuspended", reason=reason[:255])
    return user


@transaction.atomic
def user_flag(*, user: User, reason: str, actor: User | None = None) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_flagged:
        return user
    user.is_flagged = True
    user.flagged_reason = reason[:255]
    user.save(update_fields=["is_flagged", "flagged_reason"])
    AccountEvent.objects.create(user=user, actor=actor, kind="flagged", reason=reason[:255])
    return user


def staff_email_trust(*, user: User) -> bool:
    """A staff account the operator made (``createsuperuser``, ``setup_shop``, the admin)
    has no allauth address record, so allauth's mandatory email confirmation would keep
    it out of the admin. Its address is the one the operator typed: record it as
    verified. An address someone signed up with (a record exists) is left to allauth.
    Returns whether a record was made."""
    from allauth.account.models import EmailAddress

    if not user.is_staff or EmailAddress.objects.filter(user=user).exists():
        return False
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return True
