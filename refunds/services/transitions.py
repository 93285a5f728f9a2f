"""The one status function of a claim (allowed moves + ClaimEvent) and the claim's
outgoing webhook events and non-status event rows.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.statemachine import TransitionNotAllowed, row_lock
from webhooks.services import webhook_event_emit

from ..models import CLAIM_MACHINE, Claim, ClaimEvent, ClaimEventKind, ClaimStatus
from ._common import InvalidClaimTransition

# The claim machine's moves, as the mapping callers read (status -> statuses it may become).
ALLOWED_CLAIM_MOVES = CLAIM_MACHINE.moves


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
    locked = row_lock(model=Claim, pk=claim.pk)
    from_status = locked.status
    changes = dict(changes or {})
    if to_status == ClaimStatus.NEEDS_INFO:
        changes["needs_info_since"] = timezone.now()
    elif from_status == ClaimStatus.NEEDS_INFO:
        changes["needs_info_since"] = None
    try:
        CLAIM_MACHINE.transition(
            locked=locked,
            to_status=to_status,
            event=lambda before, after: ClaimEvent(
                claim=locked,
                actor=actor,
                kind=ClaimEventKind.STATUS,
                from_status=before,
                to_status=after,
                reason=reason[:500],
                data=data or {},
            ),
            changes=changes,
            also_save=("updated_at",),
            same_status_ok=False,
            label=locked.number,
        )
    except TransitionNotAllowed as exc:
        raise InvalidClaimTransition(
            _("A claim that is %(from)s cannot become %(to)s.")
            % {"from": ClaimStatus(from_status).label, "to": ClaimStatus(to_status).label},
            from_status=from_status,
            to_status=str(to_status),
        ) from exc
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
    webhook_event_emit(
        event=event, payload=lambda: claim_webhook_payload(claim=claim), dedupe_key=dedupe_key
    )


def claim_event_record(
    *, claim: Claim, kind: ClaimEventKind, actor=None, reason: str = "", data: dict | None = None
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
