"""Writes to accounts: suspension and flags, each with an audit row."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import AccountEvent, User


@transaction.atomic
def user_suspend(*, user: User, reason: str, actor: User | None = None) -> User:
    """Suspend an account and end every open session of it at once (the session generation
    is part of each session's auth hash). Only a superuser may suspend a superuser."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_superuser and actor is not None and not actor.is_superuser:
        raise PermissionDenied(_("Only a superuser can suspend a superuser."))
    if user.is_suspended:
        return user
    user.is_suspended = True
    user.suspended_reason = reason[:255]
    user.suspended_at = timezone.now()
    user.session_generation = F("session_generation") + 1
    user.save(
        update_fields=["is_suspended", "suspended_reason", "suspended_at", "session_generation"]
    )
    user.refresh_from_db(fields=["session_generation"])
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
