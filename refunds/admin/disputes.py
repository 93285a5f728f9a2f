"""Disputes: Stripe's status and events, the evidence staff review and submit, blocking."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from core.admin_inlines import ReadOnlyInline

from .. import services
from ..forms import DisputeEvidenceForm
from ..models import Dispute, DisputeEvent
from ..services import STRIPE_EVIDENCE_TEXT_FIELDS
from ._common import DISPUTE_EVIDENCE_PERM, _log_text

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise as StrPromise


class DisputeEventInline(ReadOnlyInline):
    model = DisputeEvent
    fields = ("created_at", "kind", "stripe_event_id", "from_status", "to_status", "actor", "data")
    readonly_fields = fields


@admin.register(Dispute)
class DisputeAdmin(admin.ModelAdmin):
    change_form_template = "admin/refunds/dispute/change_form.html"
    list_display = ("stripe_dispute_id", "order", "status", "reason", "amount", "currency",
                    "evidence_due_by", "submitted_at")  # fmt: skip
    list_filter = ("status", "reason", "funds_withdrawn")
    search_fields = ("stripe_dispute_id", "order__number", "order__email", "charge_id")
    readonly_fields = [f.name for f in Dispute._meta.fields]
    inlines = [DisputeEventInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/act/<str:action>/", wrap(self.action_view), name="refunds_dispute_act"),
            *super().get_urls(),
        ]

    def _evidence_form(self, dispute: Dispute, data=None) -> DisputeEvidenceForm:
        order = [
            "product_description", "customer_name", "customer_email_address",
            "customer_purchase_ip", "service_date", "access_activity_log",
            "refund_policy_disclosure", "uncategorized_text",
        ]  # fmt: skip
        names = order + sorted(set(STRIPE_EVIDENCE_TEXT_FIELDS) - set(order))
        return DisputeEvidenceForm(data, fields=names, initial=dispute.evidence)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        dispute = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if dispute is not None:
            extra_context["evidence_form"] = self._evidence_form(dispute)
            extra_context["dispute"] = dispute
            extra_context["can_submit"] = request.user.has_perm("refunds.submit_dispute_evidence")
        return super().change_view(request, object_id, form_url, extra_context)

    def action_view(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        if request.method != "POST":
            raise Http404
        dispute = get_object_or_404(Dispute.objects.select_related("order"), pk=pk)
        needed = "refunds.decide_claim" if action.startswith("block_") else DISPUTE_EVIDENCE_PERM
        if not request.user.has_perm(needed):
            raise PermissionDenied
        back = HttpResponseRedirect(reverse("admin:refunds_dispute_change", args=[dispute.pk]))
        done: str | StrPromise  # a message, or one with values filled in
        try:
            if action == "save_evidence":
                form = self._evidence_form(dispute, request.POST)
                if not form.is_valid():
                    messages.error(request, _("Please correct the evidence."))
                    return back
                services.dispute_evidence_update(
                    dispute=dispute, evidence=form.cleaned_data, actor=request.user
                )
                done = _("Evidence saved.")
            elif action == "submit":
                services.dispute_evidence_submit(dispute=dispute, actor=request.user)
                done = _("Evidence submitted.")
            elif action in ("block_email", "block_domain", "block_ip"):
                entry = services.customer_block(
                    dispute=dispute, what=action.removeprefix("block_"), actor=request.user
                )
                done = _("Blocked for future checkouts: %(entry)s") % {"entry": entry}
            else:
                raise Http404
        except PermissionDenied as exc:
            messages.error(request, str(exc) or _("You do not have permission to do this."))
            return back
        except services.ClaimError as exc:
            messages.error(request, str(exc))
            return back
        self.log_change(request, dispute, _log_text(action, done))
        messages.success(request, done)
        return back
