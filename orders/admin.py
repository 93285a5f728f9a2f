"""Staff screens for orders: lines, events, emails, refunds, webhook events, fraud rules.

Admin actions are thin: each calls one service and reports what happened.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from core.admin_filters import ActionCheckboxMixin, choices_list_filter
from core.admin_inlines import ReadOnlyInline, has_perm_method
from core.admin_paginator import EstimatedCountPaginator
from core.exports import ExportAdminMixin

from . import services
from .models import (
    BlocklistEntry,
    FraudSettings,
    Order,
    OrderConsent,
    OrderEmail,
    OrderEvent,
    OrderLine,
    OrderRisk,
    Refund,
    WebhookEvent,
)
from .selectors import fraud_settings_get, order_timeline_get

# One permission for every export (orders, refunds, claims, keys sold per batch).
EXPORT_PERMISSION = "refunds.export_data"
GATEWAY_CHOICES = [("stripe", "Stripe"), ("test", _("Test gateway"))]


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ("product_name", "quantity", "unit_price", "discount_amount", "net_amount",
              "tax_rate", "tax_amount", "line_total")  # fmt: skip
    readonly_fields = fields


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ("created_at", "kind", "from_status", "to_status", "actor", "reason", "data")
    readonly_fields = fields


class OrderConsentInline(ReadOnlyInline):
    model = OrderConsent
    fields = ("kind", "wording_version", "text", "legal_basis", "ip", "accepted_at")
    readonly_fields = fields


class OrderEmailInline(ReadOnlyInline):
    model = OrderEmail
    fields = ("kind", "status", "attempts", "last_error", "created_at", "sent_at")
    readonly_fields = fields


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ("amount", "currency", "reason", "status", "gateway_refund_id", "created_at")
    readonly_fields = fields


class OrderRiskInline(admin.StackedInline):
    model = OrderRisk
    extra = 0
    can_delete = False
    fields = ("risk_level", "card_fingerprint", "hold_reasons", "held_at", "released_at",
              "released_by", "checked_at")  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


def _each(modeladmin, request, queryset, action, done_message, log_message):
    """Run ``action`` on each order; report errors per order; log each effect (LogEntry)."""
    done = 0
    for order in queryset:
        try:
            action(order)
        except services.OrderError as exc:
            modeladmin.message_user(request, f"{order.number}: {exc}", messages.ERROR)
            continue
        modeladmin.log_change(request, order, log_message)
        done += 1
    if done:
        modeladmin.message_user(request, done_message % {"count": done}, messages.SUCCESS)


@admin.register(Order)
class OrderAdmin(ActionCheckboxMixin, ExportAdminMixin, admin.ModelAdmin):
    # a page costs the same at any size: 50 rows (Django renders each cell in Python) and a
    # count that stops being exact past 10,000 rows (core.admin_paginator)
    list_per_page = 50
    paginator = EstimatedCountPaginator
    list_display = ("number", "created_at", "email", "status", "total", "currency", "gateway",
                    "billing_country", "location_conflict")  # fmt: skip
    # Fixed choices: Django's default for a plain field reads SELECT DISTINCT over every order.
    list_filter = (
        "status",
        ("created_at", admin.DateFieldListFilter),
        choices_list_filter(field="gateway", title=_("payment gateway"), choices=GATEWAY_CHOICES),
        choices_list_filter(field="language", title=_("language"), choices=settings.LANGUAGES),
        "location_conflict",  # boolean and choices fields list fixed values, no DISTINCT
        "tax_treatment",
    )
    show_full_result_count = False  # a second COUNT(*) over every order on each filtered page
    search_fields = ("number", "email", "billing_name", "gateway_session_id",
                     "gateway_payment_id")  # fmt: skip
    # No date_hierarchy: its links come from a SELECT DISTINCT date_trunc(...) over every
    # order on each page (440 ms at 100,000 orders); the date filter above costs nothing.
    readonly_fields = [f.name for f in Order._meta.fields]
    inlines = [OrderLineInline, OrderRiskInline, OrderConsentInline, OrderEmailInline,
               RefundInline, OrderEventInline]  # fmt: skip
    actions = ["release_hold", "cancel_and_refund", "resend_keys"]
    export_permission = EXPORT_PERMISSION
    export_columns = (
        ("number", lambda o: o.number),
        ("created_at", lambda o: o.created_at),
        ("paid_at", lambda o: o.paid_at),
        ("delivered_at", lambda o: o.delivered_at),
        ("status", lambda o: o.status),
        ("email", lambda o: o.email),
        ("billing_name", lambda o: o.billing_name),
        ("language", lambda o: o.language),
        ("currency", lambda o: o.currency),
        ("billing_country", lambda o: o.billing_country),
        ("billing_vat_number", lambda o: o.billing_vat_number),
        ("tax_treatment", lambda o: o.tax_treatment),
        ("coupon_code", lambda o: o.coupon_code),
        ("discount_total", lambda o: o.discount_total),
        ("net_total", lambda o: o.net_total),
        ("tax_total", lambda o: o.tax_total),
        ("total", lambda o: o.total),
        ("refunded_total", lambda o: o.refunded_total),
        ("gateway", lambda o: o.gateway),
        ("policy_preset", lambda o: o.policy_preset),
    )

    has_release_hold_permission = has_perm_method("orders.release_hold")
    has_refund_order_permission = has_perm_method("orders.refund_order")
    has_resend_key_email_permission = has_perm_method("orders.resend_key_email")

    change_form_template = "admin/orders/order/change_form.html"

    # The order page's own buttons: action -> (permission, service call, done, log line).
    PAGE_ACTIONS = {
        "release": (
            "orders.release_hold",
            lambda order, user: services.order_hold_release(order=order, actor=user),
            _("Hold released: delivery follows."),
            "Released the security hold",
        ),
        "cancel": (
            "orders.refund_order",
            lambda order, user: services.order_cancel(
                order=order, actor=user, reason="cancelled by staff"
            ),
            _("Order cancelled and refunded in full."),
            "Cancelled and refunded in full",
        ),
        "resend": (
            "orders.resend_key_email",
            lambda order, user: services.order_email_resend(order=order, actor=user, staff=True),
            _("Key email queued again."),
            "Queued the key email again",
        ),
    }

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<uuid:pk>/act/<str:action>/", wrap(self.action_view), name="orders_order_act"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if order is not None:
            user = request.user
            extra_context.update(
                {
                    "order": order,
                    "risk": OrderRisk.objects.filter(order=order).first(),
                    "timeline": order_timeline_get(order=order),
                    "can_release": user.has_perm("orders.release_hold"),
                    "can_cancel": user.has_perm("orders.refund_order"),
                    "can_resend": user.has_perm("orders.resend_key_email"),
                    "resendable": order.status in ("delivered", "partially_refunded", "disputed"),
                }
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def action_view(self, request, pk, action: str):
        """One button on the order page = one service call, checked and logged."""
        if request.method != "POST" or action not in self.PAGE_ACTIONS:
            raise Http404
        perm, call, done, log_line = self.PAGE_ACTIONS[action]
        if not request.user.has_perm(perm):
            raise PermissionDenied
        order = get_object_or_404(Order, pk=pk)
        try:
            call(order, request.user)
        except services.OrderError as exc:
            messages.error(request, str(exc))
        else:
            self.log_change(request, order, log_line)
            messages.success(request, done)
        return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))

    @admin.action(
        description=_("Release the security hold (deliver now)"), permissions=["release_hold"]
    )
    def release_hold(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            lambda order: services.order_hold_release(order=order, actor=request.user),
            _("Released %(count)d order(s): delivery follows."),
            "Released the security hold",
        )

    @admin.action(
        description=_("Cancel and refund in full (not delivered orders)"),
        permissions=["refund_order"],
    )
    def cancel_and_refund(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            lambda order: services.order_cancel(
                order=order, actor=request.user, reason="cancelled by staff"
            ),
            _("Cancelled %(count)d order(s); refunds sent."),
            "Cancelled and refunded in full",
        )

    @admin.action(description=_("Email the keys again"), permissions=["resend_key_email"])
    def resend_keys(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            lambda order: services.order_email_resend(order=order, actor=request.user, staff=True),
            _("Key email queued for %(count)d order(s)."),
            "Queued the key email again",
        )


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ("event_id", "type", "status", "attempts", "order", "received_at",
                    "processed_at")  # fmt: skip
    list_filter = ("status", "type")
    search_fields = ("event_id", "order__number")
    readonly_fields = [f.name for f in WebhookEvent._meta.fields]
    actions = ["replay"]

    has_replay_webhook_permission = has_perm_method("orders.replay_webhook")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the record of what the gateway said

    @admin.action(description=_("Process again"), permissions=["replay_webhook"])
    def replay(self, request, queryset):
        for event in queryset:
            status = services.webhook_event_replay(event=event)
            self.log_change(request, event, f"Processed again: {status}")
            self.message_user(request, f"{event.event_id}: {status}")


@admin.register(Refund)
class RefundAdmin(ExportAdminMixin, admin.ModelAdmin):
    list_display = ("order", "amount", "currency", "reason", "status", "gateway_refund_id",
                    "created_at")  # fmt: skip
    list_filter = ("status", "reason", "gateway")
    search_fields = ("order__number", "gateway_refund_id")
    list_select_related = ("order",)
    export_permission = EXPORT_PERMISSION
    export_select_related = ("order",)
    export_columns = (
        ("order", lambda r: r.order.number),
        ("created_at", lambda r: r.created_at),
        ("amount", lambda r: r.amount),
        ("currency", lambda r: r.currency),
        ("reason", lambda r: r.reason),
        ("status", lambda r: r.status),
        ("gateway", lambda r: r.gateway),
        ("gateway_refund_id", lambda r: r.gateway_refund_id),
    )
    readonly_fields = [f.name for f in Refund._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # money moved: the row stays


@admin.register(OrderEmail)
class OrderEmailAdmin(admin.ModelAdmin):
    list_display = ("order", "kind", "status", "attempts", "created_at", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("order__number",)
    readonly_fields = [f.name for f in OrderEmail._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(FraudSettings)
class FraudSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "enabled", "first_order_amount_threshold",
                    "velocity_window_minutes", "updated_at")  # fmt: skip

    def has_add_permission(self, request):
        # The one row is made on first read (fraud_settings_get, also by this list): never
        # added by hand. (Asking the table cost a query on every admin page: the sidebar.)
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        fraud_settings_get()  # the one row always exists
        return super().changelist_view(request, extra_context)


@admin.register(BlocklistEntry)
class BlocklistEntryAdmin(admin.ModelAdmin):
    list_display = ("kind", "value", "reason", "created_by", "created_at")
    list_filter = ("kind",)
    search_fields = ("value", "reason")
    readonly_fields = ("created_by", "created_at")

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        with transaction.atomic():
            entry = services.blocklist_add(
                kind=obj.kind, value=obj.value, reason=obj.reason, actor=request.user
            )
        obj.pk = entry.pk
