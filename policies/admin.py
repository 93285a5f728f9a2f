from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from core.admin_inlines import has_perm_method

from .models import PolicyAcceptance, PolicyDocument, PolicyPreset
from .selectors import shop_choices_get
from .services import preset_activate


@admin.register(PolicyPreset)
class PolicyPresetAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "is_active", "updated_at")
    list_filter = ("is_active",)
    search_fields = ("name", "slug")
    readonly_fields = ("shop_choices", "is_active", "created_at", "updated_at")
    actions = ["activate_preset"]

    has_activate_preset_permission = has_perm_method("policies.activate_preset")

    @admin.display(description=_("Settings the policy text does not state (your own choice)"))
    def shop_choices(self, obj: PolicyPreset) -> str:
        choices = shop_choices_get(rules=obj.rules_get())
        if not choices:
            return "—"
        items = format_html_join(
            "",
            "<li><strong>{}: {}</strong> ({}). {}</li>",
            ((c.label, c.value, _("the shop's own choice"), c.note) for c in choices),
        )
        return format_html('<ul id="shop-choices">{}</ul>', items)

    @admin.action(
        description=_("Make the selected preset the shop's active policy"),
        permissions=["activate_preset"],
    )
    def activate_preset(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one preset."), messages.ERROR)
            return
        preset = preset_activate(preset=queryset.get())
        self.log_change(request, preset, "Made the shop's active policy")
        self.message_user(request, _("%(name)s is now the active policy.") % {"name": preset.name})


@admin.register(PolicyDocument)
class PolicyDocumentAdmin(admin.ModelAdmin):
    list_display = ("preset", "kind", "language", "version", "effective_at", "change_note")
    list_filter = ("preset", "kind", "language")
    search_fields = ("title", "change_note")
    readonly_fields = ("created_at",)


@admin.register(PolicyAcceptance)
class PolicyAcceptanceAdmin(admin.ModelAdmin):
    list_display = ("order_ref", "consent_kind", "document", "wording_version", "accepted_at", "ip")
    list_filter = ("consent_kind",)
    search_fields = ("order_ref",)
    readonly_fields = [f.name for f in PolicyAcceptance._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # what a customer accepted is evidence
