"""Outgoing webhooks in the admin: endpoints (owner), events and deliveries with replay."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from . import services
from .models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WebhookEventType,
)


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(
        label=_("URL"),
        max_length=500,
        assume_scheme="https",
        help_text=_("An https:// address on the public internet."),
    )
    events = forms.MultipleChoiceField(
        label=_("events"),
        choices=WebhookEventType.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The events sent to this endpoint."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("name", "url", "format", "events", "owner")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        owner = self.fields.get("owner")
        # staff only: customers are never told about endpoints
        if isinstance(owner, forms.ModelChoiceField) and owner.queryset is not None:
            owner.queryset = owner.queryset.filter(is_staff=True)

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        problem = services.webhook_url_problem(url=url)
        if problem:
            raise forms.ValidationError(problem)
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("name", "url", "format", "is_active", "consecutive_failures", "disabled_at")
    list_filter = ("is_active", "format")
    search_fields = ("name", "url")
    readonly_fields = ("secret", "is_active", "consecutive_failures", "failing_since",
                       "disabled_at", "disabled_reason", "created_at", "updated_at")  # fmt: skip
    actions = ["enable", "disable"]

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if not self.has_change_permission(request, obj):
            fields.remove("secret")  # whoever holds it can forge deliveries to the receiver
        return fields

    def save_model(self, request, obj, form, change):
        if not change and not obj.owner_id:
            obj.owner = request.user  # who registered it is told when it is disabled
        super().save_model(request, obj, form, change)

    @admin.action(
        description=_("Enable (and reset the failure count)"),
        permissions=["change"],
    )
    def enable(self, request, queryset):
        for endpoint in queryset:
            services.webhook_endpoint_enable(endpoint=endpoint)
            self.log_change(request, endpoint, "Enabled")
        self.message_user(request, _("Enabled %(n)d endpoint(s).") % {"n": queryset.count()})

    @admin.action(description=_("Disable"), permissions=["change"])
    def disable(self, request, queryset):
        for endpoint in queryset.filter(is_active=True):
            services.webhook_endpoint_disable(endpoint=endpoint, reason="disabled by staff")
            self.log_change(request, endpoint, "Disabled by staff")
        self.message_user(request, _("Disabled the selected endpoint(s)."))


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ("number", "started_at", "status_code", "response_ms", "succeeded", "error")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("event", "endpoint", "status", "attempts", "last_status_code",
                    "last_response_ms", "next_attempt_at", "delivered_at")  # fmt: skip
    list_filter = ("status", "event__type", "endpoint")
    search_fields = ("event__id", "endpoint__name")
    list_select_related = ("event", "endpoint")
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    inlines = [WebhookAttemptInline]
    actions = ["replay"]

    def has_replay_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("webhooks.replay_webhookdelivery")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the record of what was sent

    @admin.action(description=_("Send again"), permissions=["replay"])
    def replay(self, request, queryset):
        for delivery in queryset.select_related("endpoint"):
            try:
                services.webhook_delivery_replay(delivery=delivery, actor=request.user)
            except services.WebhookReplayRefused as refused:
                self.message_user(request, f"{delivery}: {refused}", level=messages.ERROR)
                continue
            self.log_change(request, delivery, "Sent again (replay)")
            self.message_user(request, _("%(delivery)s: queued again.") % {"delivery": delivery})


class WebhookDeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("endpoint", "status", "attempts", "last_status_code", "delivered_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ("id", "type", "created_at")
    list_filter = ("type",)
    search_fields = ("id", "dedupe_key")
    readonly_fields = [f.name for f in WebhookEvent._meta.fields]
    inlines = [WebhookDeliveryInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
