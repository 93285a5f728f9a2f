"""Pieces every claim service shares: the errors, the perm check, the locked open claim,
the customer's email and staff alerts through the outbox, pending evidence.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from core.outbox import staff_alert_enqueue
from core.statemachine import TransitionNotAllowed

from .. import conf
from ..models import Claim, Evidence
from ..notifications import claim_email_enqueue


class ClaimError(Exception):
    """A claim action that cannot be done; ``str()`` is a message for the person asking."""


class ClaimNotAccepted(ClaimError):
    """The policy does not let this claim be filed (window closed, reason excluded)."""

    def __init__(self, message: str, *, decision) -> None:
        super().__init__(message)
        self.decision = decision


class InvalidClaimTransition(ClaimError, TransitionNotAllowed):
    """The claim machine has no such move; ``str()`` says so in the asker's language."""


def _notify(*, claim: Claim, name: str) -> None:
    """The customer's email, written to the outbox in this transaction (sent on commit)."""
    claim_email_enqueue(claim=claim, name=name)


def _staff_alert(*, subject: str, body: str, kind: str = "claim") -> None:
    """A staff alert through the outbox (one digest per burst of a kind)."""
    staff_alert_enqueue(kind=kind, subject=subject, body=body)


def _decision_data(decision) -> dict[str, str]:
    return {
        "outcome": decision.outcome,
        "clause": decision.clause,
        "explanation": decision.explanation,
    }


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


def _require_perm(actor, perm: str) -> None:
    if actor is None or not actor.has_perm(perm):
        raise PermissionDenied(_("You do not have permission to do this."))


def _open_locked(claim: Claim) -> Claim:
    locked = Claim.objects.select_for_update().get(pk=claim.pk)
    if not locked.is_open:
        raise ClaimError(_("This claim is already decided."))
    return locked
