"""Customer side of a claim: what the policy says before filing, filing it, the
conversation (messages and requests for information), and who works on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from accounts.services import user_flag
from policies.calendar import business_deadline_for
from policies.engine import claim_decide
from policies.rules import Outcome, Treatment

from .. import conf
from ..models import (
    OPEN_CLAIM_STATUSES,
    REASONS_WITHOUT_KEY,
    Claim,
    ClaimEvent,
    ClaimEventKind,
    ClaimMessage,
    ClaimStatus,
    DueSource,
    MessageAuthor,
)
from ..selectors import (
    claim_case_build,
    clause_title_get,
    clause_url_get,
    customer_claims_recent_count,
    customer_datetime,
    decision_explain_for_customer,
    preset_rules_get,
)
from ._common import (
    ClaimError,
    ClaimNotAccepted,
    _decision_data,
    _notify,
    _pending_evidence,
    _require_perm,
    _staff_alert,
)
from .remedies import remedy_given_message
from .transitions import claim_event_record, claim_transition, claim_webhook_emit


@dataclass(frozen=True)
class ClaimPreview:
    decision: Any
    accepted: bool
    refusal: str
    clause_url: str
    clause_title: str
    response_due_at: datetime | None
    response_due_source: str
    preset_slug: str
    why: str = ""  # the decision in the customer's words, dates in the store's zone
    next_step: str = ""  # what happens after they send the claim
    due_text: str = ""  # response_due_at written for the customer


# What happens next, for the customer, after a claim with this outcome is sent.
NEXT_STEPS = {
    Outcome.VERIFY: _lazy(
        "What happens next: we check the key with its issuer, then tell you the remedy."
    ),
    Outcome.SUPPORT: _lazy(
        "What happens next: our support team contacts you to solve the problem; if it "
        "cannot be solved, we then look at a replacement or refund under this policy."
    ),
    Outcome.REPLACE: _lazy(
        "What happens next: once our team has confirmed your claim, you receive an "
        "equivalent unused key by email and with your order."
    ),
    Outcome.REFUND: _lazy(
        "What happens next: once our team has confirmed your claim, the full amount is "
        "refunded to your original payment method."
    ),
    Outcome.EXCHANGE: _lazy(
        "What happens next: once our team has confirmed your claim, you receive the "
        "product you meant to buy, subject to availability."
    ),
    Outcome.CANCEL: _lazy(
        "What happens next: the order is cancelled and the full amount is refunded to "
        "your original payment method."
    ),
    Outcome.REJECT: _lazy("What happens next: our team still reviews your claim and answers you."),
}


def _refusal(*, decision, preset, reason: str) -> str:
    """Why a claim cannot be filed at all, or "" when it can."""
    if decision.outcome != Outcome.REJECT:
        return ""
    rule = preset.reasons.get(reason)
    if rule is None or rule.treatment == Treatment.REJECT:
        return _("This policy does not cover this reason, so a claim cannot be opened for it.")
    if rule.treatment == Treatment.CANCELLATION:
        return _("This policy does not allow cancelling this order.")
    window_clause = preset.claim_window.clause
    if window_clause and decision.clause == window_clause:
        return _(
            "The time allowed to report this problem has passed, so the claim cannot be opened."
        )
    return ""


def response_due_get(*, preset, start: datetime) -> tuple[datetime, str]:
    """The verification deadline: the preset's, else our internal target, in business time."""
    timing = preset.verification
    if timing.amount:
        due = business_deadline_for(
            calendar=preset.calendar, start=start, amount=timing.amount, unit=timing.unit
        )
        return due, DueSource.POLICY
    due = business_deadline_for(
        calendar=preset.calendar,
        start=start,
        amount=conf.claim_internal_response_hours(),
        unit="hours",
    )
    return due, DueSource.INTERNAL


def claim_preview(
    *,
    order,
    order_line,
    key,
    reason: str,
    failed_at: datetime | None,
    now: datetime | None = None,
) -> ClaimPreview:
    """What the active policy says about this claim before it is filed."""
    now = now or timezone.now()
    preset = preset_rules_get()
    case = claim_case_build(
        order=order, order_line=order_line, key=key, reason=reason, failed_at=failed_at, now=now
    )
    decision = claim_decide(case=case, preset=preset)
    if case.key_remedy:
        refusal = remedy_given_message(given=case.key_remedy)
    else:
        refusal = _refusal(decision=decision, preset=preset, reason=reason)
    due, source = response_due_get(preset=preset, start=now)
    return ClaimPreview(
        decision=decision,
        accepted=not refusal,
        refusal=refusal,
        clause_url=clause_url_get(clause_id=decision.clause),
        clause_title=clause_title_get(clause_id=decision.clause, preset=preset),
        response_due_at=due,
        response_due_source=source,
        preset_slug=preset.slug,
        why=decision_explain_for_customer(decision=decision, preset=preset),
        next_step=str(NEXT_STEPS[decision.outcome]) if not refusal else "",
        due_text=customer_datetime(moment=due, time_zone=preset.calendar.time_zone),
    )


def claim_submit(
    *,
    order,
    order_line,
    key,
    reason: str,
    failed_at: datetime | None,
    description: str,
    user=None,
    guest_email: str = "",
    language: str = "en",
    evidence_ids: list[int] | None = None,
    upload_token: str = "",
    now: datetime | None = None,
) -> Claim:
    """File a claim if the active policy lets it be filed; returns the new claim.

    Raises ClaimNotAccepted (with the engine's decision, clause cited) when the reason is
    not covered or the claim window is closed, and ClaimError for an open claim on the key.
    """
    if order_line.order_id != order.pk:
        raise ClaimError(_("This product is not part of that order."))
    if key is not None and key.order_line_id != order_line.pk:
        raise ClaimError(_("This key does not belong to that order line."))
    if key is None and reason not in REASONS_WITHOUT_KEY:
        raise ClaimError(_("Please choose the key that does not work."))
    now = now or timezone.now()
    preview = claim_preview(
        order=order, order_line=order_line, key=key, reason=reason, failed_at=failed_at, now=now
    )
    if not preview.accepted:
        raise ClaimNotAccepted(preview.refusal, decision=preview.decision)
    is_user = user is not None and getattr(user, "is_authenticated", False)
    try:
        with transaction.atomic():
            claim = Claim.objects.create(
                order=order,
                order_line=order_line,
                key=key,
                user=user if is_user else None,
                guest_email="" if is_user else (guest_email or order.email),
                language=language[:8],
                reason=reason,
                failed_at=failed_at,
                description=description,
                preset_slug=preview.preset_slug,
                verification_due_at=preview.response_due_at,
                verification_due_source=preview.response_due_source,
                submitted_outcome=preview.decision.outcome,
                submitted_clause=preview.decision.clause,
                submitted_explanation=preview.why,
                recommendation_outcome=preview.decision.outcome,
                recommendation_clause=preview.decision.clause,
                recommendation_explanation=preview.decision.explanation,
            )
            evidence = _pending_evidence(
                ids=evidence_ids or [], user=user if is_user else None, upload_token=upload_token
            )
            for item in evidence:
                item.claim = claim
                item.save(update_fields=["claim"])
            ClaimEvent.objects.create(
                claim=claim,
                actor=user if is_user else None,
                kind=ClaimEventKind.SUBMITTED,
                to_status=ClaimStatus.SUBMITTED,
                reason="filed by the customer",
                data={**_decision_data(preview.decision), "evidence": [e.pk for e in evidence]},
            )
            _notify(claim=claim, name="claim_received")
            claim_webhook_emit(
                claim=claim, event="claim.opened", dedupe_key=f"claim.opened:{claim.pk}"
            )
            _staff_alert(
                subject=_("New claim %(number)s") % {"number": claim.number},
                body=_("Order %(order)s, reason %(reason)s. Policy: %(outcome)s (%(clause)s).")
                % {
                    "order": order.number,
                    "reason": claim.get_reason_display(),
                    "outcome": preview.decision.outcome,
                    "clause": preview.decision.clause,
                },
            )
    except IntegrityError:
        existing = Claim.objects.filter(key=key, status__in=OPEN_CLAIM_STATUSES).first()
        if existing is not None:
            raise ClaimError(
                _("There is already an open claim for this key: %(number)s.")
                % {"number": existing.number}
            )
        raise
    claim_abuse_check(claim=claim)
    return claim


def claim_abuse_check(*, claim: Claim) -> bool:
    """Flag the customer's account after repeated claims; True when flagged now."""
    user = claim.user or claim.order.user
    if user is None or user.is_flagged:
        return False
    since = timezone.now() - conf.claim_abuse_window()
    count = customer_claims_recent_count(claim=claim, since=since)
    if count < conf.claim_abuse_threshold():
        return False

    user_flag(
        user=user,
        reason=f"{count} claims in {conf.claim_abuse_window().days} days (latest {claim.number})",
    )
    claim_event_record(claim=claim, kind=ClaimEventKind.CUSTOMER_FLAGGED, reason="repeated claims")
    return True


# --- conversation --------------------------------------------------------------------------


@transaction.atomic
def claim_info_request(*, claim: Claim, actor, body: str) -> ClaimMessage:
    """Staff ask the customer for more (a screenshot, the key as entered): needs_info."""
    if not body.strip():
        raise ClaimError(_("Write what you need from the customer."))
    message = ClaimMessage.objects.create(
        claim=claim, author_role=MessageAuthor.STAFF, author=actor, body=body.strip()
    )
    claim_transition(
        claim=claim,
        to_status=ClaimStatus.NEEDS_INFO,
        actor=actor,
        reason="more information requested",
        data={"message": message.pk},
    )
    _notify(claim=claim, name="claim_needs_info")
    return message


@transaction.atomic
def claim_message_post(
    *,
    claim: Claim,
    author_role: str,
    body: str,
    author=None,
    evidence_ids: list[int] | None = None,
    upload_token: str = "",
) -> ClaimMessage:
    """A message on the claim. A customer's answer to a request for information moves the
    claim back to verification (or to submitted when verification had not started) and
    alerts staff; a staff message is emailed to the customer."""
    locked = Claim.objects.select_for_update().get(pk=claim.pk)
    if not locked.is_open:
        raise ClaimError(_("This claim is no longer open. Please open a new claim."))
    if not body.strip():
        raise ClaimError(_("Please write a message."))
    is_user = author is not None and getattr(author, "is_authenticated", False)
    message = ClaimMessage.objects.create(
        claim=locked,
        author_role=author_role,
        author=author if is_user else None,
        body=body.strip(),
    )
    if author_role == MessageAuthor.CUSTOMER:
        for item in _pending_evidence(
            ids=evidence_ids or [], user=author if is_user else None, upload_token=upload_token
        ):
            item.claim = locked
            item.message = message
            item.save(update_fields=["claim", "message"])
        if locked.status == ClaimStatus.NEEDS_INFO:
            was_verifying = locked.events.filter(to_status=ClaimStatus.VERIFYING).exists()
            claim_transition(
                claim=locked,
                to_status=ClaimStatus.VERIFYING if was_verifying else ClaimStatus.SUBMITTED,
                actor=author if is_user else None,
                reason="the customer answered",
                data={"message": message.pk},
            )
        else:
            claim_event_record(
                claim=locked,
                kind=ClaimEventKind.MESSAGE,
                actor=author if is_user else None,
                data={"message": message.pk},
            )
        _staff_alert(
            subject=_("Customer replied on claim %(number)s") % {"number": locked.number},
            body=body.strip()[:2000],
        )
    else:
        claim_event_record(
            claim=locked, kind=ClaimEventKind.MESSAGE, actor=author, data={"message": message.pk}
        )
        _notify(claim=locked, name="claim_message")
    claim.status = locked.status
    return message


# --- staff: verification and decisions ------------------------------------------------------


@transaction.atomic
def claim_assign(*, claim: Claim, actor, assignee) -> Claim:
    """Put ``assignee`` (None: nobody) on the claim; an event row says who moved it."""
    _require_perm(actor, "refunds.change_claim")
    locked = Claim.objects.select_for_update().get(pk=claim.pk)
    if locked.assignee_id == (assignee.pk if assignee else None):
        return locked
    before = locked.assignee_id
    locked.assignee = assignee
    locked.save(update_fields=["assignee", "updated_at"])
    claim_event_record(
        claim=locked,
        kind=ClaimEventKind.ASSIGNED,
        actor=actor,
        data={"from": before, "to": assignee.pk if assignee else None},
    )
    claim.assignee = assignee
    return locked
