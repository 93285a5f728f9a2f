"""Staff work on claims and disputes in the Django admin.

The claim page shows the engine's recommendation recomputed live from the claim's facts
and the active preset, the key's history (delivery, every view with IP and time), the
customer's other orders and claims, the conversation and evidence. Each button posts to
a custom admin view that calls exactly one service.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from decimal import Decimal

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone, translation
from django.utils.datastructures import MultiValueDict
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.admin_filters import ActionCheckboxMixin, NewestRelatedListFilter, choices_list_filter
from core.admin_inlines import ReadOnlyInline, has_perm_method
from core.exports import ExportAdminMixin
from keys.services import KeyTransitionError
from orders.services import OrderError

from . import conf
from .forms import (
    DecisionForm,
    DisputeEvidenceForm,
    ExchangeForm,
    InfoRequestForm,
    RefundForm,
    RejectForm,
    StaffMessageForm,
    VerificationForm,
)
from .models import (
    OPEN_CLAIM_STATUSES,
    CannedReply,
    Claim,
    ClaimEvent,
    ClaimMessage,
    Dispute,
    DisputeEvent,
    Evidence,
    MessageAuthor,
)

# Claim buttons that only talk to the customer (change_claim); every other one is a decision
# (verify, replace, exchange, refund, reject, close, block) and needs refunds.decide_claim.
CLAIM_CONVERSATION_ACTIONS = frozenset({"request_info", "message", "assign", "unassign"})
DISPUTE_EVIDENCE_PERM = "refunds.submit_dispute_evidence"


def _log_text(action: str, done) -> str:
    """The admin log line for one staff button: its name and outcome, in English."""
    with translation.override("en"):
        return f"{action}: {done}"


def _preset_tz(slug: str):
    """The business time zone of a preset (the shop's clock for an unknown one)."""
    try:
        from .selectors import preset_rules_get

        return preset_rules_get(slug=slug).calendar.tz
    except LookupError:  # a preset no longer shipped or stored: show the shop's clock
        return timezone.get_current_timezone()


def _deadline_text(claim: Claim, tz=None) -> str:
    """The verification deadline in the preset's business time zone."""
    due = claim.verification_due_at
    if due is None:
        return "—"
    tz = tz or _preset_tz(claim.preset_slug)
    local = due.astimezone(tz)
    return f"{local:%a %Y-%m-%d %H:%M} ({tz.key})"


class DeadlineFilter(admin.SimpleListFilter):
    title = _("verification deadline")
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [
            ("overdue", _("Overdue")),
            ("soon", _("Due within 24 hours")),
            ("later", _("Later")),
            ("none", _("No deadline")),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        open_q = Q(status__in=OPEN_CLAIM_STATUSES)
        if self.value() == "overdue":
            return queryset.filter(open_q, verification_due_at__lt=now)
        if self.value() == "soon":
            return queryset.filter(
                open_q,
                verification_due_at__gte=now,
                verification_due_at__lt=now + timedelta(hours=24),
            )
        if self.value() == "later":
            return queryset.filter(open_q, verification_due_at__gte=now + timedelta(hours=24))
        if self.value() == "none":
            return queryset.filter(verification_due_at__isnull=True)
        return queryset


class AssigneeFilter(admin.SimpleListFilter):
    title = _("assigned to")
    parameter_name = "assignee"

    def lookups(self, request, model_admin):
        from django.contrib.auth import get_user_model

        others = (
            get_user_model()
            .objects.filter(
                pk__in=Claim.objects.filter(assignee__isnull=False).values("assignee_id")
            )
            .exclude(pk=request.user.pk)
        )
        return [
            ("me", _("Me")),
            ("none", _("Nobody")),
            ("queue", _("Me or nobody (my queue)")),
            *((str(u.pk), str(u)) for u in others.order_by("email")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "me":
            return queryset.filter(assignee=request.user)
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value == "queue":
            return queryset.filter(Q(assignee__isnull=True) | Q(assignee=request.user))
        if value and value.isdigit():
            return queryset.filter(assignee_id=int(value))
        return queryset


class ProductFilter(NewestRelatedListFilter):
    """The newest products; the default would collect every claim's product first."""


class BatchFilter(NewestRelatedListFilter):
    """The newest batches, named with their product and supplier read in the same query
    (a batch's name needs both)."""

    related_select = ("product", "supplier")


def _preset_choices() -> list[tuple[str, str]]:
    """Every preset a claim may cite: shipped and stored (a handful of rows, never a scan
    of the claims)."""
    from policies.models import PolicyPreset
    from policies.rules import preset_slugs_shipped

    stored = dict(PolicyPreset.objects.values_list("slug", "name"))
    return sorted({**{slug: slug for slug in preset_slugs_shipped()}, **stored}.items())


class ClaimChangeList(ChangeList):
    """The claim list, with each row's live recommendation and business time zone computed
    for the whole page at once (a fixed number of queries whatever the page holds)."""

    def get_results(self, request):
        from .selectors import claims_recommendations_get, preset_rules_get

        super().get_results(request)
        rows = list(self.result_list)
        try:  # read and parsed once for the page: the recommendations and the time zones
            active = preset_rules_get()
        except LookupError:
            active = None
        answers = claims_recommendations_get(claims=rows, preset=active)
        zones = {
            slug: active.calendar.tz
            if active is not None and slug == active.slug
            else _preset_tz(slug)
            for slug in {c.preset_slug for c in rows}
        }
        for claim in rows:
            claim.desk_recommendation = answers.get(claim.pk)
            claim.desk_tz = zones[claim.preset_slug]
        self.result_list = rows


class ClaimEventInline(ReadOnlyInline):
    model = ClaimEvent
    fields = ("created_at", "actor", "kind", "from_status", "to_status", "reason", "data")
    readonly_fields = fields


class ClaimMessageInline(ReadOnlyInline):
    model = ClaimMessage
    fields = ("created_at", "author_role", "author", "body")
    readonly_fields = fields


@admin.register(Claim)
class ClaimAdmin(ActionCheckboxMixin, ExportAdminMixin, admin.ModelAdmin):
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
        from .services import claim_assign

        for claim in queryset:
            claim_assign(claim=claim, actor=request.user, assignee=request.user)
            self.log_change(request, claim, "Assigned to me")
        self.message_user(request, _("Assigned to you."), messages.SUCCESS)

    @admin.action(
        description=_("Ask for information (the standard request)"), permissions=["change"]
    )
    def request_info_bulk(self, request, queryset):
        from .services import claim_info_request

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
        from .services import claims_stale_close

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
        from .selectors import (
            claim_recommendation_get,
            clause_title_get,
            clause_url_get,
            customer_history_get,
            key_history_get,
        )
        from .services import claim_refund_amount_default

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
                    if recommendation and recommendation.outcome == "reject"
                    else "",
                }
            ),
            "is_open": claim.is_open,
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
        from .services import claim_refund_amount_default

        outcome = recommendation.outcome if recommendation else ""
        initial = {
            "decision": outcome if outcome in ("replace", "exchange", "refund", "reject") else
            ("verify" if outcome == "verify" else "request_info"),
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
            field.choices = [c for c in field.choices if c[0] in CLAIM_CONVERSATION_ACTIONS]
            form.initial["decision"] = "request_info"
        return form

    def decide_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The decision panel's one post: verification facts + one decision (+ reply);
        "save and next" then opens the next claim of the queue."""
        from . import services
        from .selectors import claim_queue_next, claim_recommendation_get

        if request.method != "POST":
            raise Http404
        claim = get_object_or_404(Claim.objects.select_related("order", "order_line", "key"), pk=pk)
        if not self.has_change_permission(request, claim):
            raise PermissionDenied
        back = HttpResponseRedirect(reverse("admin:refunds_claim_change", args=[claim.pk]))
        try:
            recommendation = claim_recommendation_get(claim=claim)
        except LookupError:
            recommendation = None
        form = self._decision_form(request, claim, recommendation, request.POST)
        if not form.is_valid():
            return self._invalid(request, claim, "decision", form)
        data = form.cleaned_data
        try:
            done = services.claim_desk_decide(
                claim=claim,
                actor=request.user,
                decision=data["decision"],
                verification=data["verification"],
                activated=data["activated"],
                support_exhausted=data["support_exhausted"],
                amount=data["amount"],
                product=data["product"],
                clause=data["clause"],
                reply=data["reply"],
                note=data["note"],
            )
        except PermissionDenied as exc:
            messages.error(request, str(exc) or _("You do not have permission to do this."))
            return back
        except (services.ClaimError, OrderError, KeyTransitionError) as exc:
            messages.error(request, str(exc))
            return self._invalid(request, claim, "decision", form, error=str(exc))
        self.log_change(request, claim, _log_text(f"decide {data['decision']}", done))
        messages.success(request, f"{claim.number}: {done}")
        if "_next" in request.POST:
            following = claim_queue_next(user=request.user, after=claim)
            if following is None:
                messages.info(request, _("Your queue is empty."))
                return HttpResponseRedirect(reverse("admin:refunds_claim_changelist"))
            return HttpResponseRedirect(reverse("admin:refunds_claim_change", args=[following.pk]))
        return back

    def next_view(self, request: HttpRequest) -> HttpResponse:
        """Open the first claim of the queue (oldest due first, unassigned or mine)."""
        from .selectors import claim_queue_next

        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        following = claim_queue_next(user=request.user)
        if following is None:
            messages.info(request, _("Your queue is empty."))
            return HttpResponseRedirect(reverse("admin:refunds_claim_changelist"))
        return HttpResponseRedirect(reverse("admin:refunds_claim_change", args=[following.pk]))

    def action_view(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        """One button = one service call; errors come back as admin messages."""
        from . import services

        if request.method != "POST":
            raise Http404
        claim = get_object_or_404(Claim.objects.select_related("order", "order_line", "key"), pk=pk)
        if not self.has_change_permission(request, claim):
            raise PermissionDenied
        if action not in CLAIM_CONVERSATION_ACTIONS and not request.user.has_perm(
            "refunds.decide_claim"
        ):
            raise PermissionDenied  # verifying, remedies, closing and blocking are decisions
        back = HttpResponseRedirect(reverse("admin:refunds_claim_change", args=[claim.pk]))
        user = request.user
        try:
            if action in ("assign", "unassign"):
                services.claim_assign(
                    claim=claim, actor=user, assignee=user if action == "assign" else None
                )
                done = _("Assigned to you.") if action == "assign" else _("Unassigned.")
            elif action == "verify":
                form = VerificationForm(request.POST)
                if not form.is_valid():
                    return self._invalid(request, claim, "verify", form)
                services.claim_verification_record(
                    claim=claim,
                    actor=user,
                    result=form.cleaned_data["result"],
                    activated=form.cleaned_data["activated"],
                    support_exhausted=form.cleaned_data["support_exhausted"],
                    note=form.cleaned_data["note"],
                )
                done = _("Verification recorded; the customer was notified.")
            elif action == "request_info":
                form = InfoRequestForm(request.POST)
                if not form.is_valid():
                    return self._invalid(request, claim, "info", form)
                services.claim_info_request(claim=claim, actor=user, body=form.cleaned_data["body"])
                done = _("The customer was asked for more information.")
            elif action == "message":
                form = StaffMessageForm(request.POST)
                if not form.is_valid():
                    return self._invalid(request, claim, "message", form)
                services.claim_message_post(
                    claim=claim,
                    author_role=MessageAuthor.STAFF,
                    author=user,
                    body=form.cleaned_data["body"],
                )
                done = _("Message sent to the customer.")
            elif action == "replace":
                services.claim_approve_replacement(
                    claim=claim, actor=user, note=request.POST.get("note", "")
                )
                done = _("Replacement key sent to the customer.")
            elif action == "exchange":
                form = ExchangeForm(request.POST, products=_exchange_products(claim))
                if not form.is_valid():
                    return self._invalid(request, claim, "exchange", form)
                services.claim_approve_exchange(
                    claim=claim,
                    actor=user,
                    product=form.cleaned_data["product"],
                    note=form.cleaned_data["note"],
                )
                done = _("Exchange done; the customer has the new key.")
            elif action == "refund":
                form = RefundForm(request.POST)
                if not form.is_valid():
                    return self._invalid(request, claim, "refund", form)
                services.claim_approve_refund(
                    claim=claim,
                    actor=user,
                    amount=Decimal(form.cleaned_data["amount"]),
                    note=form.cleaned_data["note"],
                )
                done = _("Refund requested; the key is revoked and the customer notified.")
            elif action == "reject":
                form = RejectForm(request.POST)
                if not form.is_valid():
                    return self._invalid(request, claim, "reject", form)
                services.claim_reject(
                    claim=claim,
                    actor=user,
                    clause=form.cleaned_data["clause"],
                    explanation=form.cleaned_data["explanation"],
                )
                done = _("Claim rejected; the customer was notified with the clause.")
            elif action == "close":
                services.claim_close(claim=claim, actor=user, reason="closed by staff")
                done = _("Claim closed.")
            elif action in ("block_email", "block_domain", "block_ip"):
                entry = services.customer_block(
                    claim=claim, what=action.removeprefix("block_"), actor=user
                )
                done = _("Blocked for future checkouts: %(entry)s") % {"entry": entry}
            else:
                raise Http404
        except PermissionDenied as exc:
            messages.error(request, str(exc) or _("You do not have permission to do this."))
            return back
        except (services.ClaimError, OrderError, KeyTransitionError) as exc:
            messages.error(request, str(exc))
            return back
        self.log_change(request, claim, _log_text(action, done))
        messages.success(request, done)
        return back

    def _invalid(self, request, claim, name, form, error: str = "") -> HttpResponse:
        """Show the claim page again with ``form`` bound to what staff typed. The page is
        rendered as for a GET: the decision post must never reach the claim's own change
        form (and its inlines), which would try to save the claim from it."""
        if not error:
            messages.error(request, _("Please correct the form below."))
        page_request = copy.copy(request)
        page_request.method = "GET"
        page_request.POST = QueryDict()
        page_request._files = MultiValueDict()
        return self.change_view(
            page_request,
            str(claim.pk),
            extra_context=self._claim_context(request, claim, {name: form}),
        )


def _canned_replies(claim: Claim):
    """The canned replies offered on this claim: its reason (or any reason), its language."""
    return CannedReply.objects.filter(
        Q(reason=claim.reason) | Q(reason=""), language=claim.language
    ).order_by("-reason", "title")


def _key_line(*, context_key, views) -> str:
    """The key's history in one line: status, batch, delivered, first view, views, IPs."""
    if context_key is None:
        return str(_("No key on this claim (order-level reason)."))
    views = views or []
    customer = [v for v in views if v.channel != "staff"]
    ips = sorted({v.ip for v in customer if v.ip})
    when = [v.created_at for v in customer]

    def stamp(moment):
        return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"

    return " · ".join(
        [
            f"#{context_key.pk} {context_key.masked}",
            str(context_key.get_status_display()),
            f"{_('batch')} #{context_key.batch_id}",
            f"{_('delivered')} {stamp(context_key.delivered_at)}",
            f"{_('first viewed')} {stamp(min(when) if when else None)}",
            f"{len(customer)} {_('views')}",
            f"IP {', '.join(ips[:3]) or '—'}" + (" …" if len(ips) > 3 else ""),
        ]
    )


def _exchange_products(claim: Claim):
    from catalog.models import Product

    return (
        Product.objects.filter(
            is_active=True, currency=claim.order.currency, price__lte=claim.order_line.unit_paid
        )
        .exclude(pk=claim.order_line.product_id)
        .order_by("name")
    )


@admin.register(Evidence)
class EvidenceAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "claim",
        "original_name",
        "content_type",
        "width",
        "height",
        "size",
        "created_at",
    )
    readonly_fields = [f.name for f in Evidence._meta.fields] + ["preview"]
    search_fields = ("claim__number", "sha256")

    @admin.display(description=_("image"))
    def preview(self, obj: Evidence) -> str:
        url = reverse("refunds:evidence", args=[obj.pk])
        return format_html(
            '<a href="{}"><img src="{}" alt="" style="max-width:480px"></a>', url, url
        )

    def has_add_permission(self, request):
        return False


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
        from .services import STRIPE_EVIDENCE_TEXT_FIELDS

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
        from . import services

        if request.method != "POST":
            raise Http404
        dispute = get_object_or_404(Dispute.objects.select_related("order"), pk=pk)
        needed = "refunds.decide_claim" if action.startswith("block_") else DISPUTE_EVIDENCE_PERM
        if not request.user.has_perm(needed):
            raise PermissionDenied
        back = HttpResponseRedirect(reverse("admin:refunds_dispute_change", args=[dispute.pk]))
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


def admin_claim_url(claim: Claim) -> str:
    return reverse("admin:refunds_claim_change", args=[claim.pk])


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    """Prepared replies for the claim desk; managers edit them (refunds.change_cannedreply)."""

    list_display = ("title", "reason", "language", "updated_at")
    list_filter = ("language", "reason")
    search_fields = ("title", "body")
