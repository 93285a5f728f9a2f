"""Writes for claims, evidence, messages, remedies, disputes and abuse flags.

Rules kept here:
- every claim status change goes through `claim_transition` (allowed moves + ClaimEvent);
  every dispute status change through `dispute_transition` (+ DisputeEvent);
- policy decisions come only from `policies.engine.claim_decide` under the active preset;
  key allocation, revocation and defect marking only from `keys.services`; money only
  from `orders.services.order_refund` (its own idempotency key), never inside our
  transactions;
- locks are taken claim first, then what the other apps lock (order -> line -> key);
- emails go out through Celery tasks enqueued on commit.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from core.money import money_from_minor_units
from core.ratelimit import ratelimit_check, ratelimit_hit

from . import conf
from .evidence import EvidenceRejected, evidence_write, upload_clean
from .models import (
    OPEN_CLAIM_STATUSES,
    REASONS_WITHOUT_KEY,
    Claim,
    ClaimEvent,
    ClaimMessage,
    ClaimStatus,
    DueSource,
    Evidence,
    MessageAuthor,
    Remedy,
    Verification,
)
from .selectors import (
    claim_case_build,
    claim_recommendation_get,
    clause_url_get,
    customer_claims_recent_count,
    customer_datetime,
    decision_explain_for_customer,
    preset_rules_get,
)

logger = logging.getLogger(__name__)


class ClaimError(Exception):
    """A claim action that cannot be done; ``str()`` is a message for the person asking."""


class ClaimNotAccepted(ClaimError):
    """The policy does not let this claim be filed (window closed, reason excluded)."""

    def __init__(self, message: str, *, decision) -> None:
        super().__init__(message)
        self.decision = decision


class InvalidClaimTransition(ClaimError):
    pass


ALLOWED_CLAIM_MOVES: dict[str, frozenset[str]] = {
    ClaimStatus.SUBMITTED: frozenset(
        {
            ClaimStatus.NEEDS_INFO,
            ClaimStatus.VERIFYING,
            ClaimStatus.APPROVED,
            ClaimStatus.REJECTED,
            ClaimStatus.CLOSED,
        }
    ),
    ClaimStatus.NEEDS_INFO: frozenset(
        {
            ClaimStatus.SUBMITTED,
            ClaimStatus.VERIFYING,
            ClaimStatus.APPROVED,
            ClaimStatus.REJECTED,
            ClaimStatus.CLOSED,
        }
    ),
    ClaimStatus.VERIFYING: frozenset(
        {ClaimStatus.NEEDS_INFO, ClaimStatus.APPROVED, ClaimStatus.REJECTED, ClaimStatus.CLOSED}
    ),
    ClaimStatus.APPROVED: frozenset({ClaimStatus.CLOSED}),
    ClaimStatus.REJECTED: frozenset({ClaimStatus.CLOSED}),
    ClaimStatus.CLOSED: frozenset(),
}


# --- the one status function --------------------------------------------------------------


@transaction.atomic
def claim_transition(
    *,
    claim: Claim,
    to_status: str,
    actor=None,
    reason: str = "",
    data: dict[str, Any] | None = None,
    changes: dict[str, Any] | None = None,
) -> Claim:
    """Move ``claim`` to ``to_status`` if allowed, applying ``changes`` in the same write,
    and record a ClaimEvent (who, when, from, to, why)."""
    locked = Claim.objects.select_for_update().get(pk=claim.pk)
    from_status = locked.status
    if to_status not in ALLOWED_CLAIM_MOVES[from_status]:
        raise InvalidClaimTransition(
            _("A claim that is %(from)s cannot become %(to)s.")
            % {"from": locked.get_status_display(), "to": ClaimStatus(to_status).label}
        )
    locked.status = to_status
    fields = ["status", "updated_at"]
    for name, value in (changes or {}).items():
        setattr(locked, name, value)
        fields.append(name)
    if to_status == ClaimStatus.NEEDS_INFO:
        locked.needs_info_since = timezone.now()
        fields.append("needs_info_since")
    elif from_status == ClaimStatus.NEEDS_INFO:
        locked.needs_info_since = None
        fields.append("needs_info_since")
    locked.save(update_fields=sorted(set(fields)))
    ClaimEvent.objects.create(
        claim=locked,
        actor=actor,
        kind="status",
        from_status=from_status,
        to_status=to_status,
        reason=reason[:500],
        data=data or {},
    )
    if to_status in (ClaimStatus.APPROVED, ClaimStatus.REJECTED):
        claim_webhook_emit(
            claim=locked, event="claim.decided", dedupe_key=f"claim.decided:{locked.pk}"
        )
    return locked


def claim_webhook_payload(*, claim: Claim) -> dict[str, Any]:
    """What an outgoing webhook says about a claim: ids, status, remedy, amounts as
    strings; never the key code, the customer's description or their email."""
    return {
        "claim": {
            "id": claim.pk,
            "number": claim.number,
            "order_id": str(claim.order_id),
            "order_number": claim.order.number,
            "order_line_id": claim.order_line_id,
            "key_id": claim.key_id,
            "reason": claim.reason,
            "status": claim.status,
            "recommendation": claim.recommendation_outcome,
            "remedy": claim.remedy,
            "decision_clause": claim.decision_clause,
            "refund_amount": str(claim.refund_amount) if claim.refund_amount is not None else None,
            "created_at": claim.created_at.isoformat(),
            "decided_at": claim.decided_at.isoformat() if claim.decided_at else None,
        }
    }


def claim_webhook_emit(*, claim: Claim, event: str, dedupe_key: str) -> None:
    """Raise an outgoing webhook event about ``claim`` (inside the caller's transaction)."""
    from webhooks.services import webhook_event_emit

    webhook_event_emit(
        event=event, payload=lambda: claim_webhook_payload(claim=claim), dedupe_key=dedupe_key
    )


def claim_event_record(
    *, claim: Claim, kind: str, actor=None, reason: str = "", data: dict | None = None
) -> ClaimEvent:
    """A non-status event (a note, a verification, a message, a refund request)."""
    return ClaimEvent.objects.create(
        claim=claim,
        actor=actor,
        kind=kind,
        from_status=claim.status,
        to_status=claim.status,
        reason=reason[:500],
        data=data or {},
    )


def _notify(*, claim: Claim, name: str) -> None:
    """The customer's email, written to the outbox in this transaction (sent on commit)."""
    from .notifications import claim_email_enqueue

    claim_email_enqueue(claim=claim, name=name)


def _staff_alert(*, subject: str, body: str, kind: str = "claim") -> None:
    """A staff alert through the outbox (one digest per burst of a kind)."""
    from core.outbox import staff_alert_enqueue

    staff_alert_enqueue(kind=kind, subject=subject, body=body)


def _decision_data(decision) -> dict[str, str]:
    return {
        "outcome": decision.outcome,
        "clause": decision.clause,
        "explanation": decision.explanation,
    }


# --- customer: preview and submit ---------------------------------------------------------


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
    "verify": _lazy(
        "What happens next: we check the key with its issuer, then tell you the remedy."
    ),
    "support": _lazy(
        "What happens next: our support team contacts you to solve the problem; if it "
        "cannot be solved, we then look at a replacement or refund under this policy."
    ),
    "replace": _lazy(
        "What happens next: once our team has confirmed your claim, you receive an "
        "equivalent unused key by email and with your order."
    ),
    "refund": _lazy(
        "What happens next: once our team has confirmed your claim, the full amount is "
        "refunded to your original payment method."
    ),
    "exchange": _lazy(
        "What happens next: once our team has confirmed your claim, you receive the "
        "product you meant to buy, subject to availability."
    ),
    "cancel": _lazy(
        "What happens next: the order is cancelled and the full amount is refunded to "
        "your original payment method."
    ),
    "reject": _lazy("What happens next: our team still reviews your claim and answers you."),
}


def _refusal(*, decision, preset, reason: str) -> str:
    """Why a claim cannot be filed at all, or "" when it can."""
    if decision.outcome != "reject":
        return ""
    rule = preset.reasons.get(reason)
    if rule is None or rule.treatment == "reject":
        return _("This policy does not cover this reason, so a claim cannot be opened for it.")
    if rule.treatment == "cancellation":
        return _("This policy does not allow cancelling this order.")
    window_clause = preset.claim_window.clause
    if window_clause and decision.clause == window_clause:
        return _(
            "The time allowed to report this problem has passed, so the claim cannot be opened."
        )
    return ""


def remedy_given_message(*, given: str) -> str:
    """Why a key that already received a remedy cannot get another (clear, for anyone)."""
    messages = {
        "replaced": _(
            "This key was already replaced. If the key sent in its place does not work, "
            "open a claim for that key."
        ),
        "refunded": _("This key was already refunded. A key is remedied once."),
        "exchanged": _(
            "This key was already exchanged for another product. A key is remedied once."
        ),
        "revoked": _(
            "This key was withdrawn (its order was refunded or charged back), so it cannot "
            "be replaced or refunded again."
        ),
    }
    return messages[given]


def _remedy_once_check(*, claim: Claim, refund: bool = False) -> None:
    """Inside the claim lock: refuse a second remedy for the claim's key, and any other
    remedy while a refund for this claim is under way (its money may already be sent)."""
    from .selectors import key_remedy_given_get

    if not refund and claim.refund_requested_at is not None:
        raise ClaimError(
            _(
                "A refund was already requested for this claim; it cannot also get a "
                "replacement or an exchange. Retry the refund instead."
            )
        )
    given = key_remedy_given_get(key=claim.key, exclude_claim=claim)
    if given:
        raise ClaimError(remedy_given_message(given=given))


def response_due_get(*, preset, start: datetime) -> tuple[datetime, str]:
    """The verification deadline: the preset's, else our internal target, in business time."""
    from policies.calendar import business_deadline_for

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
    from policies.engine import claim_decide

    from .selectors import clause_title_get

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


class EvidenceLimited(EvidenceRejected):
    """Over a rate limit or the claim's quota: refused before the file is looked at."""


EVIDENCE_QUOTA_WINDOW_SECONDS = 24 * 3600  # a draft's screenshots are purged after a day


def _evidence_limits(*, ip: str | None, claim_ref: str) -> dict[str, dict]:
    window = conf.evidence_rate_window_seconds()
    return {
        "ip": {
            "scope": "evidence-ip",
            "key": ip or "-",
            "limit": conf.evidence_uploads_per_ip(),
            "window_seconds": window,
        },
        "claim": {
            "scope": "evidence-claim",
            "key": claim_ref,
            "limit": conf.evidence_uploads_per_claim(),
            "window_seconds": window,
        },
        "quota": {
            "scope": "evidence-quota",
            "key": claim_ref,
            "limit": conf.evidence_quota_per_claim(),
            "window_seconds": EVIDENCE_QUOTA_WINDOW_SECONDS,
        },
    }


def evidence_uploads_allowed(*, ip: str | None, claim_ref: str) -> bool:
    """Whether one more screenshot from this IP for this claim would be looked at (counts
    nothing): lets a form full of screenshots be refused before it is even parsed."""
    limits = _evidence_limits(ip=ip, claim_ref=claim_ref or "-")
    return all(ratelimit_check(**limit) for limit in limits.values())


def evidence_create(
    *, upload, uploaded_by=None, upload_token: str = "", ip: str | None = None, claim_ref: str = ""
) -> Evidence:
    """Validate, re-encode and store one uploaded image. Raises EvidenceRejected.

    Before the file is read, the upload is counted against the client's IP and the claim
    (``claim_ref``: the claim, or the order whose claim is being written) and refused
    (EvidenceLimited) over either rate limit or once the claim's quota of stored images
    is used up. Only stored images count against the quota.
    """
    limits = _evidence_limits(ip=ip, claim_ref=claim_ref or "-")
    if not ratelimit_check(**limits["quota"]):
        raise EvidenceLimited(
            _(
                "This claim already has %(n)s screenshots, the most we accept. "
                "Please describe anything else in your message."
            )
            % {"n": conf.evidence_quota_per_claim()}
        )
    within_ip = ratelimit_hit(**limits["ip"])
    if not (within_ip and ratelimit_hit(**limits["claim"])):
        raise EvidenceLimited(
            _("Too many screenshots were sent in a short time. Please wait a few minutes.")
        )
    image = upload_clean(upload=upload)
    storage_name = evidence_write(image=image)
    ratelimit_hit(**limits["quota"])
    original = (getattr(upload, "name", "") or "screenshot").rsplit("/", 1)[-1][:120]
    return Evidence.objects.create(
        uploaded_by=uploaded_by if getattr(uploaded_by, "is_authenticated", False) else None,
        upload_token=upload_token,
        storage_name=storage_name,
        original_name=original,
        content_type=image.content_type,
        size=len(image.data),
        width=image.width,
        height=image.height,
        sha256=image.sha256,
    )


def _pending_evidence(*, ids: list[int], user, upload_token: str) -> list[Evidence]:
    if not ids:
        return []
    qs = Evidence.objects.select_for_update().filter(pk__in=ids, claim__isnull=True)
    owned = [
        e
        for e in qs
        if (upload_token and e.upload_token == upload_token)
        or (user is not None and e.uploaded_by_id and e.uploaded_by_id == user.pk)
    ]
    return owned[: conf.evidence_max_files()]


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
                kind="submitted",
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
        from .models import Claim as ClaimModel

        existing = ClaimModel.objects.filter(key=key, status__in=OPEN_CLAIM_STATUSES).first()
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
    from accounts.services import user_flag

    user_flag(
        user=user,
        reason=f"{count} claims in {conf.claim_abuse_window().days} days (latest {claim.number})",
    )
    claim_event_record(claim=claim, kind="customer_flagged", reason="repeated claims")
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
                kind="message",
                actor=author if is_user else None,
                data={"message": message.pk},
            )
        _staff_alert(
            subject=_("Customer replied on claim %(number)s") % {"number": locked.number},
            body=body.strip()[:2000],
        )
    else:
        claim_event_record(claim=locked, kind="message", actor=author, data={"message": message.pk})
        _notify(claim=locked, name="claim_message")
    claim.status = locked.status
    return message


# --- staff: verification and decisions ------------------------------------------------------


def _require_perm(actor, perm: str) -> None:
    if actor is None or not actor.has_perm(perm):
        raise PermissionDenied(_("You do not have permission to do this."))


@transaction.atomic
def claim_verification_record(
    *,
    claim: Claim,
    actor,
    result: str,
    activated: bool | None = None,
    support_exhausted: bool | None = None,
    note: str = "",
) -> Claim:
    """Record the issuer check (and the facts it found); the claim is now being verified."""
    _require_perm(actor, "refunds.decide_claim")
    if result not in Verification.values:
        raise ClaimError(_("Unknown verification result."))
    locked = Claim.objects.select_for_update().get(pk=claim.pk)
    if not locked.is_open:
        raise ClaimError(_("This claim is already decided."))
    changes: dict[str, Any] = {"verification": result, "verified_at": timezone.now()}
    if activated is not None:
        changes["key_activated"] = activated
    if support_exhausted is not None:
        changes["support_exhausted"] = support_exhausted
    data = {"result": result, "activated": activated, "support_exhausted": support_exhausted}
    if locked.status == ClaimStatus.VERIFYING:
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.save(update_fields=[*changes, "updated_at"])
        claim_event_record(claim=locked, kind="verification", actor=actor, reason=note, data=data)
    else:
        locked = claim_transition(
            claim=locked,
            to_status=ClaimStatus.VERIFYING,
            actor=actor,
            reason=note or "verification recorded",
            data=data,
            changes=changes,
        )
    _notify(claim=locked, name="claim_verification")
    return locked


def _decision_changes(*, actor, decision, clause: str, note: str) -> dict[str, Any]:
    """What every decision stores: who, when, the clause cited and the engine's answer."""
    return {
        "decided_at": timezone.now(),
        "decided_by": actor,
        "decision_clause": clause,
        "decision_note": note,
        "recommendation_outcome": decision.outcome,
        "recommendation_clause": decision.clause,
        "recommendation_explanation": decision.explanation,
    }


def _claim_approve(
    *,
    claim: Claim,
    actor,
    decision,
    remedy: str,
    note: str,
    reason: str,
    data: dict[str, Any] | None = None,
    changes: dict[str, Any] | None = None,
    email: str | None,
) -> Claim:
    """approved (remedy) through the one transition, with the recommendation snapshot,
    and the customer's email on commit. Called inside the caller's transaction. A remedy
    other than the recommendation needs a written reason, kept in the event (``override``)."""
    outcome = "cancel" if (data or {}).get("cancelled") else remedy
    override = _override_data(decision=decision, outcome=outcome, note=note)
    locked = claim_transition(
        claim=claim,
        to_status=ClaimStatus.APPROVED,
        actor=actor,
        reason=note or reason,
        data={
            **_decision_data(decision),
            "remedy": remedy,
            **(data or {}),
            **({"override": override} if override else {}),
        },
        changes={
            "remedy": remedy,
            **_decision_changes(actor=actor, decision=decision, clause=decision.clause, note=note),
            **(changes or {}),
        },
    )
    if email:
        _notify(claim=locked, name=email)
    return locked


def _verified_first(*, decision) -> None:
    """A remedy waits while the policy still requires the key to be verified with its
    issuer (engine outcome ``verify``): staff record the verification result first."""
    if decision.outcome == "verify":
        raise ClaimError(
            _(
                "The policy requires the key to be verified with its issuer before any remedy "
                "(%(clause)s). Record the verification result first."
            )
            % {"clause": decision.clause}
        )


def _override_check(*, decision, outcome: str, note: str) -> dict[str, str] | None:
    """Staff may approve a remedy other than the engine's recommendation only with a written
    reason, checked before anything is sent or refunded."""
    if decision.outcome != outcome and not note.strip():
        raise ClaimError(
            _(
                "The policy recommends %(recommended)s (%(clause)s), not %(chosen)s. Write in "
                "the note why you approve %(chosen)s instead."
            )
            % {"recommended": decision.outcome, "clause": decision.clause, "chosen": outcome}
        )


def _override_data(*, decision, outcome: str, note: str) -> dict[str, str] | None:
    """What the approval event records when staff chose another remedy (None if they agree)."""
    if decision.outcome == outcome:
        return None
    return {
        "recommended": decision.outcome,
        "recommended_clause": decision.clause,
        "approved": outcome,
        "reason": note.strip(),
    }


def _open_locked(claim: Claim) -> Claim:
    locked = Claim.objects.select_for_update().get(pk=claim.pk)
    if not locked.is_open:
        raise ClaimError(_("This claim is already decided."))
    return locked


def claim_approve_replacement(*, claim: Claim, actor, note: str = "") -> Claim:
    """Send an equivalent unused key of the same product, linked to the failed key, which
    is marked defective against its batch (keys.services.key_allocate_replacement does
    all three in one transaction). The customer gets it by email and on screen."""
    from keys.services import KeyAlreadyWithdrawn, key_allocate_replacement

    _require_perm(actor, "refunds.decide_claim")
    with transaction.atomic():
        locked = _open_locked(claim)
        if locked.key_id is None:
            raise ClaimError(_("This claim has no key to replace."))
        _remedy_once_check(claim=locked)
        decision = claim_recommendation_get(claim=locked)
        _verified_first(decision=decision)
        _override_check(decision=decision, outcome=Remedy.REPLACE, note=note)
        try:
            result = key_allocate_replacement(
                failed_key=locked.key,
                actor=actor,
                reason=f"claim {locked.number}: replacement approved",
                reference=locked.number,
            )
        except KeyAlreadyWithdrawn as exc:
            raise ClaimError(remedy_given_message(given="revoked")) from exc
        if not result.ok:
            raise ClaimError(
                _(
                    "No equivalent unused key is in stock. Refund the customer instead, or wait for stock."
                )
            )
        new_key = result.keys[0]
        locked = _claim_approve(
            claim=locked,
            actor=actor,
            decision=decision,
            remedy=Remedy.REPLACE,
            note=note,
            reason="replacement sent",
            data={"new_key": new_key.pk},
            changes={"replacement_key": new_key},
            email="claim_replacement",
        )
    return locked


def _exchange_difference(*, claim: Claim, product) -> Decimal:
    """What the customer paid for the key minus the price of the product they meant to buy.

    Decision (shown in the admin form): an exchange goes to a product of the same price or
    cheaper; a cheaper product refunds the difference to the original payment method. A
    dearer product is not an exchange (it would need a payment): the customer buys it.
    """
    paid = claim.order_line.unit_paid  # after any discount
    if product.pk == claim.order_line.product_id:
        raise ClaimError(_("An exchange goes to a different product; use a replacement instead."))
    if product.currency != claim.order.currency:
        raise ClaimError(_("The exchange product must be sold in the order's currency."))
    if product.price > paid:
        raise ClaimError(
            _(
                "%(product)s costs more than the customer paid; an exchange can only go to a product of the same price or cheaper."
            )
            % {"product": product.name}
        )
    return paid - product.price


def _exchange_line_get(*, claim: Claim, product, actor=None):
    """The order line that holds the exchanged product, one per claim (orders' service)."""
    from orders.services import order_line_add_for_exchange

    return order_line_add_for_exchange(
        order_line=claim.order_line, product=product, reference=claim.number, actor=actor
    )


def claim_approve_exchange(*, claim: Claim, actor, product, note: str = "") -> Claim:
    """Swap the key for one of the product the customer meant to buy (Windows Key Mart's
    incorrect-purchase clause): a key of ``product`` is allocated and delivered through
    keys.services.key_allocate, the first key is revoked, a cheaper product refunds the
    difference through orders.services.order_refund."""
    from keys.services import key_allocate

    _require_perm(actor, "refunds.decide_claim")
    difference = _exchange_difference(claim=claim, product=product)
    if difference > conf.refund_limit_without_manager():
        _require_perm(actor, "refunds.refund_above_limit")
    with transaction.atomic():
        locked = _open_locked(claim)
        if locked.key_id is None:
            raise ClaimError(_("This claim has no key to exchange."))
        _remedy_once_check(claim=locked)
        decision = claim_recommendation_get(claim=locked)
        _verified_first(decision=decision)
        _override_check(decision=decision, outcome=Remedy.EXCHANGE, note=note)
        line = _exchange_line_get(claim=locked, product=product, actor=actor)
        result = key_allocate(
            order_line=line, quantity=1, actor=actor, reason=f"exchange, claim {locked.number}"
        )
        if not result.ok:
            raise ClaimError(_("No key of %(product)s is in stock.") % {"product": product.name})
        new_key = result.keys[0]
        _key_revoke(key=locked.key, actor=actor, reason=f"exchanged, claim {locked.number}")
        locked = _claim_approve(
            claim=locked,
            actor=actor,
            decision=decision,
            remedy=Remedy.EXCHANGE,
            note=note,
            reason=f"exchanged for {product.name}",
            data={"product": product.pk, "new_key": new_key.pk, "difference": str(difference)},
            email=None,  # sent once the difference is refunded
            changes={
                "replacement_key": new_key,
                "exchange_product": product,
                "refund_amount": difference or None,
                "refund_requested_at": timezone.now() if difference else None,
            },
        )
    if difference > 0:
        refund = _refund_call(
            claim=locked, amount=difference, actor=actor, revoke_keys=False, kind="claim_exchange"
        )
        Claim.objects.filter(pk=locked.pk).update(refund_reference=str(refund.pk))
        locked.refund_reference = str(refund.pk)
        claim_event_record(
            claim=locked,
            kind="refund",
            actor=actor,
            data={"amount": str(difference), "refund": refund.pk, "status": refund.status},
        )
    with transaction.atomic():
        _notify(claim=locked, name="claim_exchange")
    return locked


def _refund_call(
    *, claim: Claim, amount: Decimal | None, actor, revoke_keys: bool, kind: str = "claim"
):
    """One call to orders' refund service, never inside our transaction. The same
    (order, reason, reference=claim number) is always the same refund and idempotency key."""
    from orders.services import order_refund

    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("order_refund must not be called inside a transaction")
    return order_refund(
        order=claim.order,
        amount=amount,
        reason=kind,
        reference=claim.number,
        actor=actor,
        revoke_keys=revoke_keys,
    )


def _refund_left(order) -> Decimal:
    from orders.selectors import order_refundable_amount

    return order_refundable_amount(order=order)


def claim_refund_amount_default(*, claim: Claim) -> Decimal:
    """One key's price for a key claim; what is left of the order otherwise (the orders
    selector's reading, the same one the refund service enforces)."""
    left = _refund_left(claim.order)
    if claim.key_id is not None:
        return min(claim.order_line.unit_paid, left)  # what the key cost after discount
    return left


def claim_approve_refund(
    *, claim: Claim, actor, amount: Decimal | None = None, note: str = ""
) -> Claim:
    """Refund to the original payment method (orders' idempotent refund), revoke the key.

    Safe to retry after a timeout: the amount is fixed on the first request, and orders'
    refund is keyed by (order, "claim", claim number) with a fixed Stripe idempotency key,
    so the gateway refunds once. While the gateway has not accepted it the claim stays
    open; its final status follows the refund webhooks (shown on the claim page).
    """
    _require_perm(actor, "refunds.decide_claim")
    with transaction.atomic():
        locked = Claim.objects.select_for_update().get(pk=claim.pk)
        if not locked.is_open:
            raise ClaimError(_("This claim is already decided."))
        decision = claim_recommendation_get(claim=locked)
        if locked.refund_requested_at is not None:
            amount = locked.refund_amount  # a retry: exactly the same request again
            first = locked.events.filter(kind="refund_requested").order_by("-id").first()
            note = note or (first.reason if first else "")
        else:
            _remedy_once_check(claim=locked, refund=True)
            _verified_first(decision=decision)
            _override_check(decision=decision, outcome=Remedy.REFUND, note=note)
            amount = amount if amount is not None else claim_refund_amount_default(claim=locked)
            if amount <= 0:
                raise ClaimError(_("Nothing is left to refund on this order."))
            if amount > conf.refund_limit_without_manager():
                _require_perm(actor, "refunds.refund_above_limit")
            locked.refund_requested_at = timezone.now()
            locked.refund_amount = amount
            locked.save(update_fields=["refund_requested_at", "refund_amount", "updated_at"])
            claim_event_record(
                claim=locked,
                kind="refund_requested",
                actor=actor,
                reason=note,
                data={"amount": str(amount)},
            )
    order = locked.order
    # Keys are withdrawn with the money: the claimed key, or every key of the order when
    # the whole order is refunded for a key problem. A double charge or a store error
    # refunds money without taking away keys the customer paid for.
    # A refund of the whole line (amount >= its total) withdraws every key of the line,
    # replacements included; a refund of one key withdraws it and any key sent in its place.
    keeps_keys = locked.key_id is None and locked.reason in ("double_charge", "store_error")
    whole_order = not keeps_keys and (locked.key_id is None or amount >= order.total)
    whole_line = not keeps_keys and amount >= locked.order_line.line_total
    refund = _refund_call(claim=locked, amount=amount, actor=actor, revoke_keys=whole_order)
    if refund.status == "failed":
        with transaction.atomic():
            claim_event_record(
                claim=locked, kind="refund_failed", actor=actor, reason=refund.error[:500]
            )
        raise ClaimError(
            _(
                "The payment provider did not confirm the refund (%(error)s). Nothing was refunded twice: try again."
            )
            % {"error": refund.error or _("no answer")}
        )
    with transaction.atomic():
        locked = Claim.objects.select_for_update().get(pk=claim.pk)
        if not locked.is_open:
            return locked  # a concurrent retry finished first
        if not whole_order and locked.key_id is not None:
            _refund_keys_withdraw(claim=locked, actor=actor, whole_line=whole_line)
        locked = _claim_approve(
            claim=locked,
            actor=actor,
            decision=decision,
            remedy=Remedy.REFUND,
            note=note,
            reason="refunded",
            data={"amount": str(amount), "refund": refund.pk, "refund_status": refund.status},
            changes={"refund_reference": str(refund.pk)},
            email="claim_refund",
        )
    return locked


def claim_approve_cancel(*, claim: Claim, actor, note: str = "") -> Claim:
    """Cancel a not-yet-delivered order and refund it in full (orders.services.order_cancel),
    where the policy allows cancellation before delivery."""
    from orders.services import order_cancel

    _require_perm(actor, "refunds.decide_claim")
    decision = claim_recommendation_get(claim=claim)
    with transaction.atomic():
        locked = _open_locked(claim)
        _override_check(decision=decision, outcome="cancel", note=note)
        amount = _refund_left(locked.order)
        if amount > conf.refund_limit_without_manager():
            _require_perm(actor, "refunds.refund_above_limit")
        if locked.refund_requested_at is None:
            locked.refund_requested_at = timezone.now()
            locked.refund_amount = amount if amount > 0 else None
            locked.save(update_fields=["refund_requested_at", "refund_amount", "updated_at"])
    order_cancel(order=locked.order, actor=actor, reason=f"claim {locked.number}")
    from orders.models import Refund

    refund = Refund.objects.filter(order=locked.order, reason="cancelled").first()
    with transaction.atomic():
        locked = _open_locked(claim)
        locked = _claim_approve(
            claim=locked,
            actor=actor,
            decision=decision,
            remedy=Remedy.REFUND,
            note=note,
            reason="order cancelled before delivery",
            data={"cancelled": True},
            changes={"refund_reference": str(refund.pk) if refund else ""},
            email="claim_refund",
        )
    return locked


def _refund_keys_withdraw(*, claim: Claim, actor, whole_line: bool) -> None:
    from keys.services import key_revoke_for_order, key_revoke_with_replacements

    reason = f"refunded, claim {claim.number}"
    if whole_line:
        key_revoke_for_order(
            order=claim.order,
            order_line=claim.order_line,
            actor=actor,
            reason=reason,
            reference=claim.number,
        )
    else:
        key_revoke_with_replacements(
            key=claim.key, actor=actor, reason=reason, reference=claim.number
        )


def _key_revoke(*, key, actor, reason: str) -> None:
    from keys.services import key_transition

    key.refresh_from_db(fields=["status"])
    if key.status in ("delivered", "reserved"):
        key_transition(key=key, to_status="revoked", actor=actor, reason=reason)


@transaction.atomic
def claim_reject(*, claim: Claim, actor, clause: str = "", explanation: str = "") -> Claim:
    """Refuse the claim, citing the clause (the engine's, unless staff name another)."""
    _require_perm(actor, "refunds.decide_claim")
    decision = claim_recommendation_get(claim=claim)
    locked = _open_locked(claim)
    clause = clause or decision.clause
    explanation = explanation or (decision.explanation if clause == decision.clause else "")
    if not explanation:
        raise ClaimError(_("Explain the refusal to the customer."))
    changes = _decision_changes(actor=actor, decision=decision, clause=clause, note=explanation)
    locked = claim_transition(
        claim=locked,
        to_status=ClaimStatus.REJECTED,
        actor=actor,
        reason=explanation,
        data={**_decision_data(decision), "clause_cited": clause},
        changes=changes,
    )
    _notify(claim=locked, name="claim_rejected")
    return locked


@transaction.atomic
def claim_close(*, claim: Claim, actor=None, reason: str, notify: bool = True) -> Claim:
    """Close a claim. Closing is a decision: a staff actor needs the decide permission."""
    if actor is not None:
        _require_perm(actor, "refunds.decide_claim")
    locked = Claim.objects.select_for_update().get(pk=claim.pk)
    if locked.status == ClaimStatus.CLOSED:
        return locked
    locked = claim_transition(
        claim=locked, to_status=ClaimStatus.CLOSED, actor=actor, reason=reason
    )
    if notify:
        _notify(claim=locked, name="claim_closed")
    return locked


# --- the claims desk ---------------------------------------------------------------------


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
        kind="assigned",
        actor=actor,
        data={"from": before, "to": assignee.pk if assignee else None},
    )
    claim.assignee = assignee
    return locked


def claim_desk_decide(
    *,
    claim: Claim,
    actor,
    decision: str,
    verification: str = "",
    activated: bool = False,
    support_exhausted: bool = False,
    amount: Decimal | None = None,
    product=None,
    clause: str = "",
    reply: str = "",
    note: str = "",
) -> str:
    """One post of the claim desk: record the issuer check when it changed, then carry out
    the one decision through its own service. Returns what was done, for staff."""
    if decision not in ("request_info", "message"):
        _require_perm(actor, "refunds.decide_claim")
    changed = verification and (
        verification != claim.verification
        or activated != claim.key_activated
        or support_exhausted != claim.support_exhausted
    )
    if decision == "verify" or (changed and claim.is_open):
        claim = claim_verification_record(
            claim=claim,
            actor=actor,
            result=verification,
            activated=activated,
            support_exhausted=support_exhausted,
            note=note if decision == "verify" else "",
        )
    if decision == "verify":
        return _("Verification recorded; the customer was notified.")
    if decision == "request_info":
        claim_info_request(claim=claim, actor=actor, body=reply)
        return _("The customer was asked for more information.")
    if decision == "message":
        claim_message_post(claim=claim, author_role=MessageAuthor.STAFF, author=actor, body=reply)
        return _("Message sent to the customer.")
    if decision == "reject":
        claim_reject(claim=claim, actor=actor, clause=clause, explanation=reply)
        return _("Claim rejected; the customer was notified with the clause.")
    if decision == "replace":
        claim_approve_replacement(claim=claim, actor=actor, note=note)
        done = _("Replacement key sent to the customer.")
    elif decision == "exchange":
        claim_approve_exchange(claim=claim, actor=actor, product=product, note=note)
        done = _("Exchange done; the customer has the new key.")
    elif decision == "refund":
        claim_approve_refund(claim=claim, actor=actor, amount=amount, note=note)
        done = _("Refund requested; the key is revoked and the customer notified.")
    else:
        raise ClaimError(_("Unknown decision."))
    if reply.strip():
        claim_message_post(claim=claim, author_role=MessageAuthor.STAFF, author=actor, body=reply)
    return done


def claims_stale_close(*, claims, actor, now: datetime | None = None) -> int:
    """Close those of ``claims`` that waited on the customer longer than the shop allows
    (the staff version of ``claims_close_stale``); others are left alone."""
    from .selectors import claims_stale_needs_info

    now = now or timezone.now()
    stale = claims_stale_needs_info(now=now, after=conf.claim_needs_info_close_after()).filter(
        pk__in=[c.pk for c in claims]
    )
    closed = 0
    for claim in list(stale):
        claim_close(claim=claim, actor=actor, reason="no answer from the customer")
        closed += 1
    return closed


# --- periodic work -----------------------------------------------------------------------


def claims_escalate_due(*, now: datetime | None = None) -> int:
    """Alert staff once per claim whose verification deadline is near or past."""
    from core.outbox import staff_alert_enqueue

    from .selectors import claims_due_for_escalation

    now = now or timezone.now()
    sent = 0
    for claim_id in list(
        claims_due_for_escalation(now=now, lead=conf.claim_escalate_lead()).values_list(
            "pk", flat=True
        )[:500]
    ):
        with transaction.atomic():
            marked = Claim.objects.filter(pk=claim_id, escalated_at__isnull=True).update(
                escalated_at=now
            )
            if not marked:
                continue
            claim = Claim.objects.select_related("order").get(pk=claim_id)
            overdue = claim.verification_due_at <= now
            claim_event_record(
                claim=claim,
                kind="escalated",
                reason="verification overdue" if overdue else "verification due soon",
                data={"due": claim.verification_due_at.isoformat()},
            )
            # The alert is written to the outbox with the mark, in one transaction.
            staff_alert_enqueue(
                kind="claim_escalation",
                dedupe_key=f"claim:{claim.pk}:escalated",
                subject=(
                    _("Claim %(number)s: verification overdue")
                    if overdue
                    else _("Claim %(number)s: verification due soon")
                )
                % {"number": claim.number},
                body=_("Order %(order)s. Verification due %(due)s (%(source)s).")
                % {
                    "order": claim.order.number,
                    "due": claim.verification_due_at.isoformat(),
                    "source": claim.get_verification_due_source_display(),
                },
            )
            sent += 1
    return sent


def evidence_purge_orphans(*, now: datetime | None = None) -> int:
    """Delete screenshots uploaded for a claim that was never sent (after a day)."""
    from .evidence import evidence_delete

    cutoff = (now or timezone.now()) - timedelta(days=1)
    purged = 0
    for evidence in Evidence.objects.filter(claim__isnull=True, created_at__lt=cutoff)[:1000]:
        with contextlib.suppress(FileNotFoundError):  # a name outside the private root
            evidence_delete(storage_name=evidence.storage_name)
        evidence.delete()
        purged += 1
    return purged


def claims_close_stale(*, now: datetime | None = None) -> int:
    """Close claims that waited on the customer too long, with notice (and drop
    screenshots of claims that were never sent)."""
    from .selectors import claims_stale_needs_info

    now = now or timezone.now()
    closed = 0
    for claim in list(
        claims_stale_needs_info(now=now, after=conf.claim_needs_info_close_after())[:500]
    ):
        with transaction.atomic():
            locked = Claim.objects.select_for_update(skip_locked=True).filter(pk=claim.pk).first()
            if locked is None or locked.status != ClaimStatus.NEEDS_INFO:
                continue
            claim_transition(
                claim=locked,
                to_status=ClaimStatus.CLOSED,
                reason="no answer from the customer",
                data={"waited_days": conf.claim_needs_info_close_after().days},
            )
            _notify(claim=locked, name="claim_closed_stale")
            closed += 1
    evidence_purge_orphans(now=now)
    return closed


# --- disputes (chargebacks) --------------------------------------------------------------

DISPUTE_STATUSES_OPEN = (
    "warning_needs_response",
    "needs_response",
    "warning_under_review",
    "under_review",
)


def _dispute_order_find(*, obj: dict):
    from django.db.models import Q

    from orders.models import Order

    ids = [v for v in (obj.get("payment_intent"), obj.get("charge")) if isinstance(v, str) and v]
    metadata = obj.get("metadata") or {}
    q = Q(gateway_payment_id__in=ids) if ids else Q(pk__in=[])
    if metadata.get("order_number"):
        q |= Q(number=metadata["order_number"])
    return Order.objects.filter(q).first()


def _dispute_order_named(*, obj: dict):
    """The order a dispute's metadata names (to link a waiting event), or None."""
    import uuid

    from orders.models import Order

    try:
        order_id = uuid.UUID(str((obj.get("metadata") or {}).get("order_id") or ""))
    except ValueError:
        return None
    return Order.objects.filter(pk=order_id).first()


def dispute_transition(
    *,
    dispute,
    to_status: str,
    kind: str,
    event_id: str | None = None,
    actor=None,
    data: dict | None = None,
    changes: dict | None = None,
):
    """Set a dispute's status (Stripe's value) and record a DisputeEvent."""
    from .models import DisputeEvent

    from_status = dispute.status
    dispute.status = to_status
    fields = ["status", "updated_at"]
    for name, value in (changes or {}).items():
        setattr(dispute, name, value)
        fields.append(name)
    dispute.save(update_fields=sorted(set(fields)))
    DisputeEvent.objects.create(
        dispute=dispute,
        stripe_event_id=event_id,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        data=data or {},
    )
    return dispute


class DisputeOrderUnknown(LookupError):
    """A dispute names a payment we have no paid order for yet (events can arrive out of
    order): the event waits. ``order`` is the order it names, when it names one."""

    def __init__(self, message: str, *, order=None) -> None:
        super().__init__(message)
        self.order = order


def dispute_event_handle(*, event: dict) -> Any:
    """Apply one Stripe ``charge.dispute.*`` event; a repeated event changes nothing.

    Idempotent by the event id (unique in DisputeEvent) and, for events without one, by
    the dispute id + status + funds flag: applying the same state twice writes nothing.
    """
    from .models import Dispute, DisputeEvent

    kind = str(event.get("type", ""))
    obj = ((event.get("data") or {}).get("object")) or {}
    dispute_id = obj.get("id")
    event_id = event.get("id") or None
    if not kind.startswith("charge.dispute.") or not dispute_id:
        raise ValueError(f"not a dispute event: {kind!r}")
    if event_id and DisputeEvent.objects.filter(stripe_event_id=event_id).exists():
        return Dispute.objects.filter(stripe_dispute_id=dispute_id).first()

    order = _dispute_order_find(obj=obj)
    if order is None:
        raise DisputeOrderUnknown(
            f"dispute {dispute_id}: no order for the disputed payment yet",
            order=_dispute_order_named(obj=obj),
        )
    if order.paid_at is None:  # its payment event has not been applied yet
        raise DisputeOrderUnknown(
            f"dispute {dispute_id}: order {order.number} is not paid yet", order=order
        )
    currency = str(obj.get("currency") or order.currency).upper()
    status = str(obj.get("status") or "needs_response")
    due_by = (obj.get("evidence_details") or {}).get("due_by")
    try:
        with transaction.atomic():
            dispute, created = Dispute.objects.select_for_update().get_or_create(
                stripe_dispute_id=dispute_id,
                defaults={
                    "order": order,
                    "charge_id": str(obj.get("charge") or ""),
                    "payment_intent_id": str(obj.get("payment_intent") or ""),
                    "status": status,
                    "reason": str(obj.get("reason") or ""),
                    "amount": money_from_minor_units(minor=obj.get("amount"), currency=currency),
                    "currency": currency,
                    "evidence_due_by": (
                        datetime.fromtimestamp(int(due_by), tz=UTC) if due_by else None
                    ),
                },
            )
            funds_withdrawn = dispute.funds_withdrawn
            if kind == "charge.dispute.funds_withdrawn":
                funds_withdrawn = True
            elif kind == "charge.dispute.funds_reinstated":
                funds_withdrawn = False
            unchanged = (
                not created
                and dispute.status == status
                and dispute.funds_withdrawn == funds_withdrawn
            )
            if unchanged and (dispute.opened_handled_at or kind != "charge.dispute.created"):
                if event_id:  # remember the id so a replay is recognised at once
                    DisputeEvent.objects.create(
                        dispute=dispute,
                        stripe_event_id=event_id,
                        kind=kind,
                        from_status=status,
                        to_status=status,
                        data={"no_change": True},
                    )
                return dispute
            dispute = dispute_transition(
                dispute=dispute,
                to_status=status,
                kind=kind,
                event_id=event_id,
                data={"reason": obj.get("reason"), "created": created},
                changes={"funds_withdrawn": funds_withdrawn},
            )
            if dispute.opened_handled_at is None:
                _dispute_opened(dispute=dispute)
            elif kind == "charge.dispute.closed":
                _staff_alert(
                    kind="dispute",
                    subject=_("Dispute %(id)s closed: %(status)s")
                    % {"id": dispute.stripe_dispute_id, "status": dispute.get_status_display()},
                    body=_("Order %(order)s.") % {"order": dispute.order.number},
                )
    except IntegrityError:
        # The same event applied concurrently: the first one stands.
        return Dispute.objects.filter(stripe_dispute_id=dispute_id).first()
    return dispute


def _dispute_opened(*, dispute) -> None:
    """Order disputed, keys revoked and account suspended where the preset says so, the
    customer flagged, and the evidence assembled for staff to review."""
    from accounts.services import user_flag, user_suspend
    from keys.services import key_revoke_for_order
    from orders.services import order_transition

    order = dispute.order
    try:
        rules = preset_rules_get(slug=order.policy_preset or None)
    except LookupError:
        rules = preset_rules_get()
    chargeback = rules.chargeback
    if order.status != "disputed":
        order_transition(
            order=order, to_status="disputed", reason=f"chargeback {dispute.stripe_dispute_id}"
        )
    revoke = chargeback.revoke_key
    if revoke:
        key_revoke_for_order(order=order, reason=f"chargeback {dispute.stripe_dispute_id}")
    user = order.user
    if user is not None:
        user_flag(user=user, reason=f"chargeback {dispute.stripe_dispute_id} on {order.number}")
        if chargeback.suspend_account:
            user_suspend(
                user=user,
                reason=f"chargeback {dispute.stripe_dispute_id}"
                + (f" ({chargeback.clause})" if chargeback.clause else ""),
            )
    dispute.evidence = dispute_evidence_assemble(dispute=dispute)
    dispute.evidence_assembled_at = timezone.now()
    dispute.opened_handled_at = timezone.now()
    dispute.save(
        update_fields=["evidence", "evidence_assembled_at", "opened_handled_at", "updated_at"]
    )
    from .models import DisputeEvent

    DisputeEvent.objects.create(
        dispute=dispute,
        kind="opened_actions",
        from_status=dispute.status,
        to_status=dispute.status,
        data={
            "preset": rules.slug,
            "keys_revoked": revoke,
            "account_suspended": bool(user and chargeback.suspend_account),
            "customer_flagged": bool(user),
            "clause": chargeback.clause,
        },
    )
    _staff_alert(
        kind="dispute",
        subject=_("Chargeback on order %(order)s") % {"order": order.number},
        body=_(
            "Dispute %(id)s, %(amount)s %(currency)s, reason %(reason)s. Evidence is ready for review in the admin."
        )
        % {
            "id": dispute.stripe_dispute_id,
            "amount": dispute.amount,
            "currency": dispute.currency,
            "reason": dispute.reason or "-",
        },
    )
    from webhooks.services import webhook_event_emit

    webhook_event_emit(
        event="dispute.created",
        payload={
            "dispute": {
                "id": dispute.pk,
                "stripe_dispute_id": dispute.stripe_dispute_id,
                "order_id": str(order.pk),
                "order_number": order.number,
                "status": dispute.status,
                "reason": dispute.reason,
                "amount": str(dispute.amount),
                "currency": dispute.currency,
                "evidence_due_by": (
                    dispute.evidence_due_by.isoformat() if dispute.evidence_due_by else None
                ),
                "keys_revoked": revoke,
            }
        },
        dedupe_key=f"dispute.created:{dispute.pk}",
    )


def dispute_evidence_assemble(*, dispute) -> dict[str, str]:
    """The evidence Stripe asks for digital goods, from our records (all text fields)."""
    from .selectors import dispute_evidence_facts_get

    facts = dispute_evidence_facts_get(order=dispute.order)
    evidence = {
        "access_activity_log": facts["access_activity_log"],
        "customer_email_address": facts["customer_email_address"],
        "customer_name": facts["customer_name"],
        "customer_purchase_ip": facts["customer_purchase_ip"],
        "product_description": facts["product_description"],
        "refund_policy_disclosure": facts["refund_policy_disclosure"],
        "service_date": facts["service_date"],
        "uncategorized_text": facts["uncategorized_text"],
    }
    return {k: v for k, v in evidence.items() if v}


STRIPE_EVIDENCE_TEXT_FIELDS = frozenset(
    {
        "access_activity_log",
        "billing_address",
        "cancellation_policy_disclosure",
        "cancellation_rebuttal",
        "customer_email_address",
        "customer_name",
        "customer_purchase_ip",
        "duplicate_charge_explanation",
        "duplicate_charge_id",
        "product_description",
        "refund_policy_disclosure",
        "refund_refusal_explanation",
        "service_date",
        "uncategorized_text",
    }
)


def dispute_evidence_update(*, dispute, evidence: dict[str, str], actor) -> Any:
    """Staff edit the assembled evidence before submitting it."""
    _require_perm(actor, "refunds.submit_dispute_evidence")
    unknown = set(evidence) - STRIPE_EVIDENCE_TEXT_FIELDS
    if unknown:
        raise ClaimError(
            _("Unknown evidence fields: %(names)s") % {"names": ", ".join(sorted(unknown))}
        )
    from .models import DisputeEvent

    with transaction.atomic():
        from .models import Dispute

        locked = Dispute.objects.select_for_update().get(pk=dispute.pk)
        if locked.submitted_at is not None:
            raise ClaimError(_("The evidence was already submitted."))
        locked.evidence = {k: v for k, v in evidence.items() if v}
        locked.save(update_fields=["evidence", "updated_at"])
        DisputeEvent.objects.create(
            dispute=locked,
            kind="evidence_edited",
            actor=actor,
            from_status=locked.status,
            to_status=locked.status,
        )
    return locked


def _stripe_client():
    """The real stripe library, configured like the orders gateway (stand-in base URL in
    tests, its timeout; retries reuse the idempotency key)."""
    import stripe
    from django.conf import settings

    from orders.conf import orders_setting

    base = settings.STRIPE_API_BASE or None
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY or "",
        base_addresses={"api": base} if base else None,
        max_network_retries=2,
        http_client=stripe.new_default_http_client(
            timeout=orders_setting("STRIPE_TIMEOUT_SECONDS")
        ),
    )


def dispute_evidence_submit(*, dispute, actor) -> Any:
    """Submit the evidence to Stripe (``stripe.Dispute.modify(..., submit=True)``) with an
    idempotency key from our ids; with the local test gateway it is recorded here only.

    Stripe is called outside any transaction; a retry after a timeout sends the same
    idempotency key, so Stripe applies it once.
    """
    from .models import Dispute, DisputeEvent

    _require_perm(actor, "refunds.submit_dispute_evidence")
    dispute = Dispute.objects.select_related("order").get(pk=dispute.pk)
    if dispute.submitted_at is not None:
        return dispute
    if dispute.status not in ("needs_response", "warning_needs_response"):
        raise ClaimError(_("Stripe no longer accepts evidence for this dispute."))
    evidence = {k: v for k, v in dispute.evidence.items() if k in STRIPE_EVIDENCE_TEXT_FIELDS}
    gateway = dispute.order.gateway
    response_id = ""
    if gateway == "stripe":
        if transaction.get_connection().in_atomic_block:
            raise RuntimeError("Stripe must not be called inside a transaction")
        import stripe

        try:
            result = _stripe_client().v1.disputes.update(
                dispute.stripe_dispute_id,
                params={"evidence": evidence, "submit": True},
                options={"idempotency_key": f"keystore-dispute-{dispute.pk}-evidence"},
            )
        except stripe.StripeError as exc:
            raise ClaimError(
                _("Stripe did not accept the evidence: %(error)s") % {"error": exc}
            ) from exc
        response_id = str(getattr(result, "id", "") or "")
    with transaction.atomic():
        locked = Dispute.objects.select_for_update().get(pk=dispute.pk)
        if locked.submitted_at is None:
            locked.submitted_at = timezone.now()
            locked.submitted_by = actor
            locked.submission_gateway = gateway
            locked.save(
                update_fields=["submitted_at", "submitted_by", "submission_gateway", "updated_at"]
            )
            DisputeEvent.objects.create(
                dispute=locked,
                kind="evidence_submitted",
                actor=actor,
                from_status=locked.status,
                to_status=locked.status,
                data={
                    "gateway": gateway,
                    "fields": sorted(evidence),
                    "stripe_response": response_id,
                },
            )
    return locked


# --- abuse: blocklist --------------------------------------------------------------------


def customer_block(*, claim: Claim | None = None, dispute=None, what: str, actor) -> Any:
    """Block the customer's email, email domain or purchase IP for future checkouts,
    through the orders app's blocklist."""
    from orders.services import blocklist_add

    _require_perm(actor, "refunds.decide_claim")
    order = claim.order if claim is not None else dispute.order
    email = (claim.customer_email if claim is not None else order.email).lower()
    if what == "email":
        kind, value = "email", email
    elif what == "domain":
        kind, value = "email_domain", email.rsplit("@", 1)[-1]
    elif what == "ip":
        if not order.purchase_ip:
            raise ClaimError(_("The order has no purchase IP to block."))
        kind, value = "ip", order.purchase_ip
    else:
        raise ClaimError(_("Unknown block type."))
    reference = claim.number if claim is not None else dispute.stripe_dispute_id
    entry = blocklist_add(kind=kind, value=value, actor=actor, reason=f"refunds: {reference}")
    if claim is not None:
        claim_event_record(
            claim=claim, kind="blocked", actor=actor, data={"kind": kind, "value": value}
        )
    return entry
