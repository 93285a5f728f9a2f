"""Dispute evidence: assembled from our records, edited by staff, submitted to Stripe."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.conf import orders_setting

from ..models import Dispute, DisputeEvent, DisputeEventKind, DisputeStatus
from ..selectors import dispute_evidence_facts_get
from ._common import ClaimError, _require_perm


def dispute_evidence_assemble(*, dispute) -> dict[str, str]:
    """The evidence Stripe asks for digital goods, from our records (all text fields)."""
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

    with transaction.atomic():
        locked = Dispute.objects.select_for_update().get(pk=dispute.pk)
        if locked.submitted_at is not None:
            raise ClaimError(_("The evidence was already submitted."))
        locked.evidence = {k: v for k, v in evidence.items() if v}
        locked.save(update_fields=["evidence", "updated_at"])
        DisputeEvent.objects.create(
            dispute=locked,
            kind=DisputeEventKind.EVIDENCE_EDITED,
            actor=actor,
            from_status=locked.status,
            to_status=locked.status,
        )
    return locked


def _stripe_client():
    """The real stripe library, configured like the orders gateway (stand-in base URL in
    tests, its timeout; retries reuse the idempotency key)."""
    import stripe  # deferred: the heavy Stripe SDK loads only when Stripe is called (as in orders)

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
    _require_perm(actor, "refunds.submit_dispute_evidence")
    dispute = Dispute.objects.select_related("order").get(pk=dispute.pk)
    if dispute.submitted_at is not None:
        return dispute
    if dispute.status not in (DisputeStatus.NEEDS_RESPONSE, DisputeStatus.WARNING_NEEDS_RESPONSE):
        raise ClaimError(_("Stripe no longer accepts evidence for this dispute."))
    evidence = {k: v for k, v in dispute.evidence.items() if k in STRIPE_EVIDENCE_TEXT_FIELDS}
    gateway = dispute.order.gateway
    response_id = ""
    if gateway == "stripe":
        if transaction.get_connection().in_atomic_block:
            raise RuntimeError("Stripe must not be called inside a transaction")
        import stripe  # deferred: the heavy Stripe SDK loads only when Stripe is called

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
                kind=DisputeEventKind.EVIDENCE_SUBMITTED,
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
