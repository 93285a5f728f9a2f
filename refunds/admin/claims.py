"""The claim page: the engine's recommendation recomputed live from the claim's facts and
the active preset, the key's history (delivery, every view with IP and time), the
customer's other orders and claims, the conversation and evidence. Each button posts to
a custom admin view that calls exactly one service.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.urls import path
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.admin_filters import ActionCheckboxMixin, choices_list_filter
from core.admin_inlines import ReadOnlyInline, has_perm_method
from core.admin_paginator import EstimatedCountPaginator
from core.exports import ExportAdminMixin
from policies.rules import Outcome

from .. import conf
from ..forms import (
    DecisionForm,
    DeskDecision,
    ExchangeForm,
    InfoRequestForm,
    RefundForm,
    RejectForm,
    StaffMessageForm,
    VerificationForm,
)
from ..models import CLAIM_MACHINE, Claim, ClaimEvent, ClaimMessage
from ..selectors import (
    claim_recommendation_get,
    clause_title_get,
    clause_url_get,
    customer_history_get,
    key_history_get,
)
from ..services import (
    claim_assign,
    claim_info_request,
    claim_refund_amount_default,
    claims_stale_close,
)
from ._common import (
    CLAIM_CONVERSATION_ACTIONS,
    _canned_replies,
    _deadline_text,
    _exchange_products,
    _key_line,
)
from .claim_actions import ClaimActionsMixin
from .claim_lists import (
    AssigneeFilter,
    BatchFilter,
    ClaimChangeList,
    DeadlineFilter,
    ProductFilter,
    _preset_choices,
)

# Engine outcomes the desk offers as a decision of the same name (the others start with
# the verification or a question to the customer).
DESK_OUTCOMES = frozenset({Outcome.REPLACE, Outcome.EXCHANGE, Outcome.REFUND, Outcome.REJECT})


class ClaimEventInline(ReadOnlyInline):
    model = ClaimEvent
    fields = ("created_at", "actor", "kind", "from_status", "to_status", "reason", "data")
    readonly_fields = fields


class ClaimMessageInline(ReadOnlyInline):
    model = ClaimMessage
    fields = ("created_at", "author_role", "author", "body")
    readonly_fields = fields


@admin.register(Claim)
class ClaimAdmin(ClaimActionsMixin, ActionCheckboxMixin, ExportAdminMixin, admin.ModelAdmin):
    # a page costs the same at any size: 50 rows (Django renders each cell in Python) and a
    # count that stops being exact past 10,000 rows (core.admin_paginator)
    list_per_page = 50
    paginator = EstimatedCountPaginator
    change_form_template = "admin/refunds/claim/change_form.html"
    list_display = (
        "number",
        "order",
        "product_name",
        "reason",
        "status",
        "verification",
        "recommendation_now",
        "deadline",
        "assignee",
        "remedy",
        "created_at",
    )
    list_filter = (
        "status",
        DeadlineFilter,
        AssigneeFilter,
        "reason",
        "verification",
        ("order_line__product", ProductFilter),
        ("key__batch", BatchFilter),
        "key__batch__supplier",
        choices_list_filter(field="preset_slug", title=_("policy preset"), choices=_preset_choices),
    )
    show_full_result_count = False
    search_fields = ("number", "order__number", "order__email", "guest_email", "user__email")
    ordering = ("verification_due_at", "-created_at")
    list_select_related = ("order", "order_line", "key", "assignee")
    inlines = [ClaimMessageInline, ClaimEventInline]
    actions = ["assign_to_me", "request_info_bulk", "close_stale"]

    has_decide_claim_permission = has_perm_method("refunds.decide_claim")
    export_permission = "refunds.export_data"
    export_select_related = ("order", "order_line", "decided_by", "assignee")
    export_columns = (
        ("number", lambda c: c.number),
        ("order", lambda c: c.order.number),
        ("product", lambda c: c.order_line.product_name),
        ("reason", lambda c: c.reason),
        ("status", lambda c: c.status),
        ("created_at", lambda c: c.created_at),
        ("verification", lambda c: c.verification),
        ("verification_due_at", lambda c: c.verification_due_at),
        ("assignee", lambda c: c.assignee.email if c.assignee_id else ""),
        ("remedy", lambda c: c.remedy),
        ("recommended", lambda c: c.recommendation_outcome),
        ("decision_clause", lambda c: c.decision_clause),
        ("decided_at", lambda c: c.decided_at),
        ("decided_by", lambda c: c.decided_by.email if c.decided_by_id else ""),
        ("refund_amount", lambda c: c.refund_amount),
        ("customer_email", lambda c: c.guest_email or c.order.email),
        ("preset", lambda c: c.preset_slug),
    )
    readonly_fields = [f.name for f in Claim._meta.fields]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "number",
                    "status",
                    "assignee",
                    "order",
                    "order_line",
                    "key",
                    "user",
                    "guest_email",
                )
            },  # fmt: skip
        ),
        (
            _("The customer's report"),
            {"fields": ("reason", "failed_at", "description", "created_at")},
        ),
        (
            _("Verification"),
            {
                "fields": (
                    "verification",
                    "key_activated",
                    "support_exhausted",
                    "verified_at",
                    "verification_due_at",
                    "verification_due_source",
                    "escalated_at",
                )
            },
        ),
        (
            _("Decision"),
            {
                "fields": (
                    "preset_slug",
                    "submitted_outcome",
                    "submitted_clause",
                    "recommendation_outcome",
                    "recommendation_clause",
                    "remedy",
                    "decision_clause",
                    "decision_note",
                    "decided_at",
                    "decided_by",
                    "replacement_key",
                    "exchange_product",
                    "refund_amount",
                    "refund_reference",
                    "refund_requested_at",
                )
            },
        ),
    )

    @admin.display(description=_("product"), ordering="order_line__product_name")
    def product_name(self, obj: Claim) -> str:
        return obj.order_line.product_name

    @admin.display(
        description=_("verification due (business time)"), ordering="verification_due_at"
    )
    def deadline(self, obj: Claim) -> str:
        text = _deadline_text(obj, getattr(obj, "desk_tz", None))
        if obj.is_open and obj.verification_due_at and obj.verification_due_at < timezone.now():
            return format_html('<strong class="desk-overdue">{} · {}</strong>', text, _("overdue"))
        return text

    @admin.display(description=_("recommendation now"))
    def recommendation_now(self, obj: Claim) -> str:
        if not obj.is_open:
            return "—"
        answer = getattr(obj, "desk_recommendation", None)
        if answer is None:
            return "—"
        return format_html('<span title="{}">{}</span>', answer.clause, answer.outcome)

    def get_changelist(self, request, **kwargs):
        return ClaimChangeList

    # --- bulk actions (the queue) ----------------------------------------------------

    @admin.action(description=_("Assign to me"), permissions=["change"])
    def assign_to_me(self, request, queryset):
        for claim in queryset:
            claim_assign(claim=claim, actor=request.user, assignee=request.user)
            self.log_change(request, claim, "Assigned to me")
        self.message_user(request, _("Assigned to you."), messages.SUCCESS)

    @admin.action(
        description=_("Ask for information (the standard request)"), permissions=["change"]
    )
    def request_info_bulk(self, request, queryset):
        asked = 0
        for claim in queryset.filter(status__in=["submitted", "verifying"]):
            with translation.override(claim.language):
                body = str(InfoRequestForm.base_fields["body"].initial)
            claim_info_request(claim=claim, actor=request.user, body=body)
            self.log_change(request, claim, "Asked for more information (bulk)")
            asked += 1
        self.message_user(
            request, _("Asked %(count)d customer(s) for information.") % {"count": asked}
        )

    @admin.action(
        description=_("Close the stale ones (no answer in time)"), permissions=["decide_claim"]
    )
    def close_stale(self, request, queryset):
        closed_before = set(queryset.filter(status="closed").values_list("pk", flat=True))
        count = claims_stale_close(claims=list(queryset), actor=request.user)
        for claim in queryset.filter(status="closed").exclude(pk__in=closed_before):
            self.log_change(request, claim, "Closed: no answer from the customer (bulk)")
        self.message_user(
            request,
            _("Closed %(count)d stale claim(s); the others are not stale and stay open.")
            % {"count": count},
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # --- the claim page -------------------------------------------------------------

    def get_urls(self):
        urls = super().get_urls()
        wrap = self.admin_site.admin_view
        custom = [
            path("<int:pk>/act/<str:action>/", wrap(self.action_view), name="refunds_claim_act"),
            path("<int:pk>/decide/", wrap(self.decide_view), name="refunds_claim_decide"),
            path("next/", wrap(self.next_view), name="refunds_claim_next"),
        ]
        return custom + urls

    def change_view(self, request, object_id, form_url="", extra_context=None):
        claim = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if claim is not None:
            # a form bound to what staff typed (``_invalid``) wins over the fresh ones
            extra_context = {**self._claim_context(request, claim), **extra_context}
        return super().change_view(request, object_id, form_url, extra_context)

    def _claim_context(self, request, claim: Claim, forms: dict | None = None) -> dict:
        try:
            recommendation = claim_recommendation_get(claim=claim)
            rec_error = ""
        except LookupError as exc:  # no active preset: say so instead of failing the page
            recommendation, rec_error = None, str(exc)
        exchange_products = _exchange_products(claim)
        forms = forms or {}
        context = {
            "claim": claim,
            "recommendation": recommendation,
            "recommendation_error": rec_error,
            "recommendation_clause_url": clause_url_get(clause_id=recommendation.clause)
            if recommendation
            else "",
            "recommendation_clause_title": clause_title_get(clause_id=recommendation.clause)
            if recommendation
            else "",
            "deadline_text": _deadline_text(claim),
            "key_history": key_history_get(key=claim.key),
            "replacement_history": key_history_get(key=claim.replacement_key)
            if claim.replacement_key_id
            else None,
            "history": customer_history_get(claim=claim),
            "evidence": claim.evidence.all(),
            "refund_limit": conf.refund_limit_without_manager(),
            "can_refund_above_limit": request.user.has_perm("refunds.refund_above_limit"),
            "can_decide": request.user.has_perm("refunds.decide_claim"),
            "verify_form": forms.get("verify")
            or VerificationForm(
                initial={
                    "result": claim.verification,
                    "activated": claim.key_activated,
                    "support_exhausted": claim.support_exhausted,
                }
            ),
            "info_form": forms.get("info") or InfoRequestForm(),
            "message_form": forms.get("message") or StaffMessageForm(),
            "refund_form": forms.get("refund")
            or RefundForm(
                initial={"amount": claim.refund_amount or claim_refund_amount_default(claim=claim)}
            ),
            "exchange_form": forms.get("exchange") or ExchangeForm(products=exchange_products),
            "reject_form": forms.get("reject")
            or RejectForm(
                initial={
                    "clause": recommendation.clause if recommendation else "",
                    "explanation": recommendation.explanation
                    if recommendation and recommendation.outcome == Outcome.REJECT
                    else "",
                }
            ),
            "is_open": claim.is_open,
            # the moves the claim machine allows from here (the buttons that apply)
            "status_moves": CLAIM_MACHINE.available_transitions(obj=claim),
            "decision_form": forms.get("decision")
            or self._decision_form(request, claim, recommendation),
            "canned_replies": {str(c.pk): c.body for c in _canned_replies(claim)},
        }
        # The forms share one page and some field names (note, body): give each its own
        # ids, so that every label belongs to the field of its own form.
        for name in ("verify", "info", "message", "refund", "exchange", "reject"):
            context[f"{name}_form"].auto_id = f"id_{name}_%s"
        context["key_line"] = _key_line(
            context_key=claim.key, views=context["key_history"]["views"]
        )
        return context

    def _decision_form(self, request, claim: Claim, recommendation, data=None) -> DecisionForm:
        outcome = recommendation.outcome if recommendation else ""
        initial = {
            "decision": outcome if outcome in DESK_OUTCOMES else
            (DeskDecision.VERIFY if outcome == Outcome.VERIFY else DeskDecision.REQUEST_INFO),
            "verification": claim.verification,
            "activated": claim.key_activated,
            "support_exhausted": claim.support_exhausted,
            "amount": claim.refund_amount or claim_refund_amount_default(claim=claim),
        }  # fmt: skip
        form = DecisionForm(
            data,
            initial=initial,
            products=_exchange_products(claim),
            canned_replies=_canned_replies(claim),
        )
        # Empty clause: the engine's own at the moment of the decision (which the issuer
        # check posted with it may change), with its explanation.
        form.fields["clause"].widget.attrs["placeholder"] = _("the policy's clause")
        if not request.user.has_perm("refunds.decide_claim"):  # talk to the customer only
            field = form.fields["decision"]
            assert isinstance(field, forms.ChoiceField)  # declared so on DecisionForm
            field.choices = [
                (value, label)
                for value, label in DeskDecision.choices  # the field's own choices
                if value in CLAIM_CONVERSATION_ACTIONS
            ]
            form.initial["decision"] = "request_info"
        return form
