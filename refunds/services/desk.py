"""The claim desk: one staff post, carried out through the service for that decision."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _

from ..models import Claim, DeskDecision, MessageAuthor
from ._common import ClaimError, _require_perm
from .claims import claim_info_request, claim_message_post
from .decisions import claim_reject, claim_verification_record
from .remedies import claim_approve_exchange, claim_approve_refund, claim_approve_replacement


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
    if decision not in (DeskDecision.REQUEST_INFO, DeskDecision.MESSAGE):
        _require_perm(actor, "refunds.decide_claim")
    changed = verification and (
        verification != claim.verification
        or activated != claim.key_activated
        or support_exhausted != claim.support_exhausted
    )
    if decision == DeskDecision.VERIFY or (changed and claim.is_open):
        claim = claim_verification_record(
            claim=claim,
            actor=actor,
            result=verification,
            activated=activated,
            support_exhausted=support_exhausted,
            note=note if decision == DeskDecision.VERIFY else "",
        )
    if decision == DeskDecision.VERIFY:
        return _("Verification recorded; the customer was notified.")
    if decision == DeskDecision.REQUEST_INFO:
        claim_info_request(claim=claim, actor=actor, body=reply)
        return _("The customer was asked for more information.")
    if decision == DeskDecision.MESSAGE:
        claim_message_post(claim=claim, author_role=MessageAuthor.STAFF, author=actor, body=reply)
        return _("Message sent to the customer.")
    if decision == DeskDecision.REJECT:
        claim_reject(claim=claim, actor=actor, clause=clause, explanation=reply)
        return _("Claim rejected; the customer was notified with the clause.")
    if decision == DeskDecision.REPLACE:
        claim_approve_replacement(claim=claim, actor=actor, note=note)
        done = _("Replacement key sent to the customer.")
    elif decision == DeskDecision.EXCHANGE:
        claim_approve_exchange(claim=claim, actor=actor, product=product, note=note)
        done = _("Exchange done; the customer has the new key.")
    elif decision == DeskDecision.REFUND:
        claim_approve_refund(claim=claim, actor=actor, amount=amount, note=note)
        done = _("Refund requested; the key is revoked and the customer notified.")
    else:
        raise ClaimError(_("Unknown decision."))
    if reply.strip():
        claim_message_post(claim=claim, author_role=MessageAuthor.STAFF, author=actor, body=reply)
    return done
