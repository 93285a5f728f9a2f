"""Customer emails about claims: what each template gets, in the claim's language.

A key code is put only in the replacement and exchange emails, revealed through
`keys.services.key_reveal` (channel ``email``) so the disclosure is audited.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import translation

from .models import Claim, ClaimMessage, MessageAuthor
from .selectors import clause_title_get, clause_url_get

EMAILS_WITH_CODE = frozenset({"claim_replacement", "claim_exchange"})


def claim_url_for_customer(*, claim: Claim) -> str:
    return settings.SITE_URL.rstrip("/") + reverse(
        "refunds:detail", kwargs={"number": claim.number}
    )


def _clause(clause_id: str) -> dict[str, str]:
    if not clause_id:
        return {"id": "", "title": "", "url": ""}
    url = clause_url_get(clause_id=clause_id)
    return {
        "id": clause_id,
        "title": clause_title_get(clause_id=clause_id),
        "url": settings.SITE_URL.rstrip("/") + url if url.startswith("/") else url,
    }


def claim_email_context(*, claim: Claim, name: str) -> dict[str, Any]:
    last_staff = (
        ClaimMessage.objects.filter(claim=claim, author_role=MessageAuthor.STAFF)
        .order_by("-created_at", "-id")
        .first()
    )
    context: dict[str, Any] = {
        "claim": claim,
        "claim_number": claim.number,
        "order_number": claim.order.number,
        "product_name": claim.order_line.product_name,
        "claim_url": claim_url_for_customer(claim=claim),
        "status": claim.get_status_display(),
        "reason": claim.get_reason_display(),
        "submitted_clause": _clause(claim.submitted_clause),
        "decision_clause": _clause(claim.decision_clause),
        "explanation": claim.decision_note or claim.recommendation_explanation,
        "verification": claim.get_verification_display(),
        "verification_due_at": claim.verification_due_at,
        "staff_message": last_staff.body if last_staff else "",
        "refund_amount": claim.refund_amount,
        "currency": claim.order.currency,
        "exchange_product": claim.exchange_product.name if claim.exchange_product_id else "",
    }
    if name in EMAILS_WITH_CODE and claim.replacement_key_id:
        from keys.services import key_reveal

        context["code"] = key_reveal(
            key=claim.replacement_key,
            channel="email",
            ip=None,
            user_agent="",
            user=claim.user,
            guest_email=claim.guest_email,
        )
        context["key_product"] = claim.replacement_key.product.name
    return context


def claim_email_send(*, claim_pk: int, name: str) -> None:
    from storefront.emails import email_send

    claim = Claim.objects.select_related(
        "order", "order_line", "user", "exchange_product", "replacement_key"
    ).get(pk=claim_pk)
    language = claim.language or "en"
    with translation.override(language):  # labels and clause titles in the email's language
        context = claim_email_context(claim=claim, name=name)
    email_send(
        name=name,
        to=[claim.customer_email],
        context=context,
        language=language,
        headers={"X-Keystore-Claim": claim.number},
    )
