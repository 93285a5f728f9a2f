from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from core.admin_inlines import has_perm_method

from . import services
from .forms import ApiKeyCreateForm
from .models import ApiKey, ImportJob


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Create a key here (shown once) or with ``manage.py create_api_key``; revoke it here."""

    form = ApiKeyCreateForm
    list_display = ("name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "user", "created_by", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke_keys"]
    has_revoke_apikey_permission = has_perm_method("api.revoke_apikey")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", "scope_choices")
        return ("name", "scopes", *self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("name", "scopes", *self.readonly_fields)

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the audit rows keep pointing at the key's user

    def save_model(self, request, obj, form, change):
        if change:
            return
        created, raw = services.api_key_create(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scope_choices"],
            created_by=request.user,
        )
        obj.pk = created.pk
        obj.__dict__.update(
            {f.attname: getattr(created, f.attname) for f in ApiKey._meta.concrete_fields}
        )
        self.message_user(
            request,
            _("The key, shown this once (copy it now; only its hash is kept): %(key)s")
            % {"key": raw},
            messages.WARNING,
        )

    @admin.action(description=_("Revoke the selected keys"), permissions=["revoke_apikey"])
    def revoke_keys(self, request, queryset):
        for api_key in queryset:
            services.api_key_revoke(api_key=api_key, actor=request.user)
        self.message_user(request, _("The keys are revoked."), messages.SUCCESS)


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "api_key",
        "product",
        "status",
        "lines_total",
        "imported",
        "bad_lines",
        "created_at",
    )
    list_filter = ("status",)
    exclude = ("payload",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
