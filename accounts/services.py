"""Writes to accounts: suspension and flags, each with an audit row."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import AccountEvent, AccountEventKind, User


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
    AccountEvent.objects.create(
        user=user, actor=actor, kind=AccountEventKind.SUSPENDED, reason=reason[:500]
    )
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
    AccountEvent.objects.create(
        user=user, actor=actor, kind=AccountEventKind.UNSUSPENDED, reason=reason[:500]
    )
    return user


@transaction.atomic
def user_flag(*, user: User, reason: str, actor: User | None = None) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_flagged:
        return user
    user.is_flagged = True
    user.flagged_reason = reason[:255]
    user.save(update_fields=["is_flagged", "flagged_reason"])
    AccountEvent.objects.create(
        user=user, actor=actor, kind=AccountEventKind.FLAGGED, reason=reason[:500]
    )
    return user


def staff_email_trust(*, user: User) -> bool:
    """A staff account the operator made (``createsuperuser``, ``setup_shop``, the admin)
    has no allauth address record, so allauth's mandatory email confirmation would keep
    it out of the admin. Its address is the one the operator typed: record it as
    verified. An address someone signed up with (a record exists) is left to allauth.
    Returns whether a record was made."""
    if not user.is_staff or EmailAddress.objects.filter(user=user).exists():
        return False
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return True


OWNER_GROUP = "owner"


@transaction.atomic
def owner_account_ensure(*, email: str, password: str | None) -> tuple[User, bool]:
    """The shop owner's account: a superuser whose address counts as verified (so it
    can sign in at once; the admin then takes it through TOTP enrolment), in the
    ``owner`` group when that group exists. Running again keeps the account and changes
    the password only when one is given. Returns ``(user, created)``."""
    email = User.objects.normalize_email(email).strip().lower()
    user = User.objects.select_for_update().filter(email__iexact=email).first()
    created = user is None
    if user is None:
        if not password:
            raise ValueError("a new owner account needs a password")
        user = User(email=email)
    if password:
        validate_password(password, user=user)
        user.set_password(password)
    user.is_staff = user.is_superuser = user.is_active = True
    user.save()
    EmailAddress.objects.filter(user=user).exclude(email__iexact=email).update(primary=False)
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    group = Group.objects.filter(name=OWNER_GROUP).first()
    if group is not None:
        user.groups.add(group)
    return user, created
