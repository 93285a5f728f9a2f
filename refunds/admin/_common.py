"""Pieces the claim and dispute admins share: who may press which button, the admin
log line, the deadline in business time.
"""

from __future__ import annotations

from django.utils import timezone, translation

from ..models import Claim
from ..selectors import preset_rules_get

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
