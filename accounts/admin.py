from allauth.account.admin import EmailAddressAdmin as AllauthEmailAddressAdmin
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from core.admin_inlines import ReadOnlyInline, has_perm_method

from .models import AccountEvent, User
from .services import user_suspend, user_unsuspend

# Fields only a staff manager (accounts.manage_staff) may set, and the one only a superuser may.
STAFF_FIELDS = ("is_staff", "groups", "user_permissions")
# Suspension goes through the actions (sessions end, an event is written), never the form.
STANDING_FIELDS = ("is_suspended", "suspended_reason", "suspended_at")


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
    readonly_fields = (*STANDING_FIELDS, "last_login", "date_joined")
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

    has_suspend_permission = has_perm_method("accounts.suspend_user")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields.append("is_superuser")
            if not request.user.has_perm("accounts.manage_staff"):
                fields.extend(STAFF_FIELDS)
        return fields

    def has_change_permission(self, request, obj=None):
        # A superuser's account (password included) is changed by a superuser only.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    @admin.action(description=_("Suspend selected accounts"), permissions=["suspend"])
    def suspend_selected(self, request, queryset):
        done = 0
        for user in queryset:
            if user.is_suspended:
                continue
            try:
                user = user_suspend(user=user, reason="Suspended by staff", actor=request.user)
            except PermissionDenied as exc:
                self.message_user(request, f"{user.email}: {exc}", messages.ERROR)
                continue
            self.log_change(request, user, "Suspended the account; every session ended")
            done += 1
        if done:
            self.message_user(
                request,
                _("Suspended %(count)d account(s); their sessions are ended.") % {"count": done},
                messages.SUCCESS,
            )

    @admin.action(description=_("Lift suspension of selected accounts"), permissions=["suspend"])
    def unsuspend_selected(self, request, queryset):
        for user in queryset.filter(is_suspended=True):
            user = user_unsuspend(user=user, reason="Lifted by staff", actor=request.user)
            self.log_change(request, user, "Lifted the suspension")


# Third-party admins, registered again with their actions behind a permission.

admin.site.unregister(EmailAddress)


@admin.register(EmailAddress)
class EmailAddressAdmin(AllauthEmailAddressAdmin):
    """allauth's admin; "make verified" opens the address's guest orders to its account, so
    it needs the change permission and leaves a log entry."""

    @admin.action(
        description=_("Mark selected email addresses as verified"), permissions=["change"]
    )
    def make_verified(self, request, queryset):
        pending = list(queryset.filter(verified=False).values_list("pk", flat=True))
        super().make_verified(request, queryset)
        for address in EmailAddress.objects.filter(pk__in=pending, verified=True):
            self.log_change(request, address, "Marked the address verified")


admin.site.unregister(Authenticator)


@admin.register(Authenticator)
class AuthenticatorAdmin(admin.ModelAdmin):
    """Staff second factors: listed without their secrets; deleting one (a lost device)
    needs the delete permission. They are never added or edited here."""

    raw_id_fields = ("user",)
    list_display = ("user", "type", "created_at", "last_used_at")
    list_filter = ("type", "created_at", "last_used_at")
    fields = readonly_fields = ("user", "type", "created_at", "last_used_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
