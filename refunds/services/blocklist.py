"""Blocking a customer's email, domain or purchase IP for future checkouts."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from orders.services import blocklist_add

from ..models import Claim, ClaimEventKind
from ._common import ClaimError, _require_perm
from .transitions import claim_event_record


def customer_block(*, claim: Claim | None = None, dispute=None, what: str, actor) -> Any:
    """Block the customer's email, email domain or purchase IP for future checkouts,
    through the orders app's blocklist."""
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
            claim=claim,
            kind=ClaimEventKind.BLOCKED,
            actor=actor,
            data={"kind": kind, "value": value},
        )
    return entry
