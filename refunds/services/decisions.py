"""Applying the decision engine: verification with the issuer, the recommendation
snapshot, overrides that need a written reason, rejection and closing.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from policies.rules import Outcome

from ..models import Claim, ClaimEventKind, ClaimStatus, Verification
from ..selectors import claim_recommendation_get
from ._common import ClaimError, _decision_data, _notify, _open_locked, _require_perm
from .transitions import claim_event_record, claim_transition


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
        claim_event_record(
            claim=locked, kind=ClaimEventKind.VERIFICATION, actor=actor, reason=note, data=data
        )
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
    outcome = Outcome.CANCEL if (data or {}).get("cancelled") else Outcome(remedy)
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
    if decision.outcome == Outcome.VERIFY:
        raise ClaimError(
            _(
                "The policy requires the key to be verified with its issuer before any remedy "
                "(%(clause)s). Record the verification result first."
            )
            % {"clause": decision.clause}
        )


def _override_check(*, decision, outcome: Outcome, note: str) -> None:
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


def _override_data(*, decision, outcome: Outcome, note: str) -> dict[str, str] | None:
    """What the approval event records when staff chose another remedy (None if they agree)."""
    if decision.outcome == outcome:
        return None
    return {
        "recommended": decision.outcome,
        "recommended_clause": decision.clause,
        "approved": outcome,
        "reason": note.strip(),
    }


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
