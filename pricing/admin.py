"""Staff screens for coupons, campaign batches (generate codes, export them) and redemptions."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Coupon, CouponBatch, CouponRedemption, RedemptionStatus
from .services import coupon_batch_csv, coupon_batch_generate

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    class _CouponCounts(TypedDict):
        redeemed_count: int
        reserved_count: int

    class _BatchCounts(TypedDict):
        code_count: int

    # the rows of the admin lists below, with their querysets' annotations
    CouponWithCounts = WithAnnotations[Coupon, _CouponCounts]
    CouponBatchWithCounts = WithAnnotations[CouponBatch, _BatchCounts]


class RedemptionInline(admin.TabularInline):
    model = CouponRedemption
    extra = 0
    can_delete = False
    fields = ("order_number", "email", "status", "discount_total", "created_at")
    readonly_fields = fields
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    list_display = ("code", "kind", "value", "currency", "active", "valid_from", "valid_until",
                    "max_redemptions", "redeemed", "reserved", "batch")  # fmt: skip
    list_filter = ("active", "kind", "batch")
    search_fields = ("code",)
    filter_horizontal = ("products", "categories")
    inlines = [RedemptionInline]
    fieldsets = (
        (None, {"fields": ("code", "kind", "value", "currency", "active")}),
        (_("Where it applies"), {"fields": ("products", "categories", "minimum_amount")}),
        (
            _("When and how often"),
            {
                "fields": (
                    "valid_from",
                    "valid_until",
                    "max_redemptions",
                    "max_redemptions_per_customer",
                )
            },
        ),  # fmt: skip
        (_("Campaign"), {"fields": ("batch",)}),
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("batch")
            .annotate(
                redeemed_count=Count(
                    "redemptions", filter=Q(redemptions__status=RedemptionStatus.REDEEMED)
                ),
                reserved_count=Count(
                    "redemptions", filter=Q(redemptions__status=RedemptionStatus.RESERVED)
                ),
            )
        )

    @admin.display(description=_("redeemed"), ordering="redeemed_count")
    def redeemed(self, obj: CouponWithCounts) -> int:
        return obj.redeemed_count

    @admin.display(description=_("reserved"), ordering="reserved_count")
    def reserved(self, obj: CouponWithCounts) -> int:
        return obj.reserved_count


@admin.register(CouponBatch)
class CouponBatchAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "kind", "value", "currency", "count", "codes",
                    "generated_at")  # fmt: skip
    readonly_fields = ("generated_at", "created_by", "created_at")
    actions = ["generate_codes", "export_codes"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(code_count=Count("coupons"))

    @admin.display(description=_("codes made"), ordering="code_count")
    def codes(self, obj: CouponBatchWithCounts) -> int:
        return obj.code_count

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def has_generate_permission(self, request) -> bool:
        return request.user.has_perm("pricing.generate_coupon_codes")

    def has_export_permission(self, request) -> bool:
        return request.user.has_perm("pricing.export_coupon_codes")

    @admin.action(description=_("Generate the batch's single-use codes"),
                  permissions=["generate"])  # fmt: skip
    def generate_codes(self, request, queryset):
        made = sum(coupon_batch_generate(batch=batch, actor=request.user) for batch in queryset)
        for batch in queryset:
            self.log_change(request, batch, f"generated codes ({made} new in this run)")
        self.message_user(request, _("%(count)d codes generated.") % {"count": made},
                          messages.SUCCESS)  # fmt: skip

    @admin.action(description=_("Export the codes (CSV)"), permissions=["export"])
    def export_codes(self, request, queryset):
        text = coupon_batch_csv(batches=queryset)
        for batch in queryset:
            self.log_change(request, batch, "exported codes")
        response = HttpResponse(text, content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="coupon-codes-{stamp}.csv"'
        return response


@admin.register(CouponRedemption)
class CouponRedemptionAdmin(admin.ModelAdmin):
    list_display = ("coupon", "order_number", "email", "status", "discount_total", "created_at")
    list_filter = ("status",)
    search_fields = ("coupon__code", "order_number", "email")
    readonly_fields = [f.name for f in CouponRedemption._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
