"""Permission-limited staff for admin tests (the pattern of tests/refunds/conftest.py's
``staff_with``): a staff member holding exactly the named permissions, and what the admin
log recorded."""

from __future__ import annotations

from django.contrib.auth.models import Permission

from tests.factories import UserFactory


def staff_with_perms(*perms: str, email: str = "staff-limited@example.com", **fields):
    """A staff member (not a superuser) with only ``perms`` ("app_label.codename")."""
    user = UserFactory(email=email, is_staff=True, **fields)
    for name in perms:
        app_label, codename = name.split(".", 1)
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return type(user).objects.get(pk=user.pk)  # fresh: no permission cache


def admin_log(*, obj, user) -> list[str]:
    """The admin log lines (LogEntry change messages) ``user`` left on ``obj``."""
    from django.contrib.admin.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    return list(
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(type(obj)),
            object_id=str(obj.pk),
            user=user,
        ).values_list("change_message", flat=True)
    )


def action_offered(client, *, changelist_url: str, action: str) -> bool:
    """Whether the changelist offers ``action`` in its action menu."""
    page = client.get(changelist_url).content.decode()
    return f'value="{action}"' in page
