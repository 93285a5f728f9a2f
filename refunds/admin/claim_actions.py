"""The claim page's posts: the desk's one decision, each button (one service call each),
the next claim of the queue, and the page again with a form bound to what staff typed.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext_lazy as _

from keys.services import KeyTransitionError
from orders.services import OrderError

from .. import services
from ..forms import (
    ExchangeForm,
    InfoRequestForm,
    RefundForm,
    RejectForm,
    StaffMessageForm,
    VerificationForm,
)
from ..models import Claim, MessageAuthor
from ..selectors import claim_queue_next, claim_recommendation_get
from ._common import CLAIM_CONVERSATION_ACTIONS, _exchange_products, _log_text

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise as StrPromise

    from ..forms import DecisionForm

    _ClaimAdminBase = admin.ModelAdmin[Claim]
else:
    _ClaimAdminBase = object


class ClaimActionsMixin(_ClaimAdminBase):
    """The custom admin views of ClaimAdmin (its ``get_urls`` routes them)."""

    if TYPE_CHECKING:  # defined by ClaimAdmin (claims.py), the one class this mixes into

        def _claim_context(
            self, request: HttpRequest, claim: Claim, forms: dict[str, Any] | None = None
        ) -> dict[str, Any]: ...

        def _decision_form(
            self, request: HttpRequest, claim: Claim, recommendation: Any, data: Any = None
        ) -> DecisionForm: ...

    def decide_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The decision panel's one post: verification facts + one decision (+ reply);
        "save and next" then opens the next claim of the queue."""
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
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        following = claim_queue_next(user=request.user)
        if following is None:
            messages.info(request, _("Your queue is empty."))
            return HttpResponseRedirect(reverse("admin:refunds_claim_changelist"))
        return HttpResponseRedirect(reverse("admin:refunds_claim_change", args=[following.pk]))

    def action_view(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        """One button = one service call; errors come back as admin messages."""
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
        done: str | StrPromise  # a message, or one with values filled in
        form: forms.Form
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
