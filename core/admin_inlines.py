"""Admin pieces shared by the apps."""

from django.contrib import admin


class ReadOnlyInline(admin.TabularInline):
    """History rows (events, views, messages) shown on a parent's page, never edited there."""

    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def has_perm_method(perm: str):
    """A ``has_<name>_permission`` method for ``allowed_permissions``: the user holds ``perm``
    ("app_label.codename"). Each admin action that changes something names its permission."""

    def has_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(perm)

    has_permission.__doc__ = f"The user holds {perm}."
    return has_permission
