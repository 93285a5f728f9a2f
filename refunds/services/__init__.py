"""Writes for claims, evidence, messages, remedies, disputes and abuse flags.

Rules kept here:
- every claim status change goes through `claim_transition` (allowed moves + ClaimEvent);
  every dispute status change through `dispute_transition` (+ DisputeEvent);
- policy decisions come only from `policies.engine.claim_decide` under the active preset;
  key allocation, revocation and defect marking only from `keys.services`; money only
  from `orders.services.order_refund` (its own idempotency key), never inside our
  transactions;
- locks are taken claim first, then what the other apps lock (order -> line -> key);
- emails and staff alerts go through core's outbox, written in the same transaction.

One module per concern; callers import from ``refunds.services`` (this package).
"""

from ._common import ClaimError, ClaimNotAccepted, InvalidClaimTransition
from .blocklist import customer_block
from .claims import (
    NEXT_STEPS,
    ClaimPreview,
    claim_abuse_check,
    claim_assign,
    claim_info_request,
    claim_message_post,
    claim_preview,
    claim_submit,
    response_due_get,
)
from .decisions import claim_close, claim_reject, claim_verification_record
from .desk import claim_desk_decide
from .dispute_evidence import (
    STRIPE_EVIDENCE_TEXT_FIELDS,
    dispute_evidence_assemble,
    dispute_evidence_submit,
    dispute_evidence_update,
)
from .disputes import (
    DISPUTE_STATUSES_OPEN,
    DisputeOrderUnknown,
    dispute_event_handle,
    dispute_transition,
)
from .evidence import (
    EVIDENCE_QUOTA_WINDOW_SECONDS,
    EvidenceLimited,
    evidence_create,
    evidence_purge_orphans,
    evidence_uploads_allowed,
)
from .remedies import (
    claim_approve_cancel,
    claim_approve_exchange,
    claim_approve_refund,
    claim_approve_replacement,
    claim_refund_amount_default,
    remedy_given_message,
)
from .sweepers import claims_close_stale, claims_escalate_due, claims_stale_close
from .transitions import (
    ALLOWED_CLAIM_MOVES,
    claim_event_record,
    claim_transition,
    claim_webhook_emit,
    claim_webhook_payload,
)

__all__ = [
    "ALLOWED_CLAIM_MOVES",
    "DISPUTE_STATUSES_OPEN",
    "EVIDENCE_QUOTA_WINDOW_SECONDS",
    "NEXT_STEPS",
    "STRIPE_EVIDENCE_TEXT_FIELDS",
    "ClaimError",
    "ClaimNotAccepted",
    "ClaimPreview",
    "DisputeOrderUnknown",
    "EvidenceLimited",
    "InvalidClaimTransition",
    "claim_abuse_check",
    "claim_approve_cancel",
    "claim_approve_exchange",
    "claim_approve_refund",
    "claim_approve_replacement",
    "claim_assign",
    "claim_close",
    "claim_desk_decide",
    "claim_event_record",
    "claim_info_request",
    "claim_message_post",
    "claim_preview",
    "claim_refund_amount_default",
    "claim_reject",
    "claim_submit",
    "claim_transition",
    "claim_verification_record",
    "claim_webhook_emit",
    "claim_webhook_payload",
    "claims_close_stale",
    "claims_escalate_due",
    "claims_stale_close",
    "customer_block",
    "dispute_event_handle",
    "dispute_evidence_assemble",
    "dispute_evidence_submit",
    "dispute_evidence_update",
    "dispute_transition",
    "evidence_create",
    "evidence_purge_orphans",
    "evidence_uploads_allowed",
    "remedy_given_message",
    "response_due_get",
]
