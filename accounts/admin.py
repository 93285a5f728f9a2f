from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from storefront.admin_inlines import ReadOnlyInline

from .models import AccountEvent, User
from .services import user_suspend, user_unsuspend


class AccountEventInline(ReadOnlyInline):
    model = AccountEvent
    fk_name = "user"
    fields = readonly_fields = ("kind", "reason", "actor", "created_at")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "is_staff", "is_active", "is_suspended", "is_flagged", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active", "is_suspended", "is_flagged")
    search_fields = ("email", "first_name", "last_name")
    readonly_fields = ("suspended_at", "last_login", "date_joined")
    inlines = [AccountEventInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "preferred_language")}),
        (
            _("Standing"),
            {
                "fields": (
                    "is_suspended",
                    "suspended_reason",
                    "suspended_at",
                    "is_flagged",
                    "flagged_reason",
                )
            },
        ),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    actions = ["suspend_selected", "unsuspend_selected"]

    @admin.action(description=_("Suspend selected accounts"))
    def suspend_selected(self, request, queryset):
        for user in queryset:
            user_suspend(user=user, reason="Suspended by staff", actor=request.user)

    @admin.action(description=_("Lift suspension of selected accounts"))
    def unsuspend_selected(self, request, queryset):
        for user in queryset:
            user_unsuspend(user=user, reason="Lifted by staff", actor=request.user)
