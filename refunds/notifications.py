"""Customer emails about claims: what each template gets, in the claim's language.

Every claim email goes through core's outbox: :func:`claim_email_enqueue` writes the
message in the caller's transaction (once per claim event and template, so a redelivered
task or a re-run step cannot send it twice); the body is rendered when it is sent
(:func:`claim_email_render`). A key code is put only in the replacement and exchange
emails and is never stored; its disclosure (channel ``email``) is audited by
:func:`claim_email_outbox_hook` once the SMTP server accepted the message.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import translation

from core.emails import email_render
from core.outbox import RenderedEmail, outbox_enqueue
from keys.services import key_code_for_email, key_view_record

from .models import Claim, ClaimEvent, ClaimMessage, MessageAuthor
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
        "exchange_product": (
            claim.exchange_product.name if claim.exchange_product is not None else ""
        ),
    }
    if name in EMAILS_WITH_CODE and claim.replacement_key is not None:
        context["code"] = key_code_for_email(key_id=claim.replacement_key.pk)
        context["key_product"] = claim.replacement_key.product.name
    return context


OUTBOX_NAME = "refunds.claim_email"  # the renderer and hook registered in RefundsConfig.ready


def claim_email_enqueue(*, claim: Claim, name: str) -> None:
    """Queue the customer email ``name`` about ``claim`` (inside the caller's transaction).

    Keyed by the claim's latest event: the email that event calls for is written once."""
    event_id = (
        ClaimEvent.objects.filter(claim_id=claim.pk).order_by("-pk").values_list("pk", flat=True)
    ).first() or 0
    outbox_enqueue(
        idempotency_key=f"claim:{claim.pk}:event:{event_id}:{name}:customer",
        to=[claim.customer_email],
        renderer=OUTBOX_NAME,
        context={"claim_id": claim.pk, "name": name},
        hook=OUTBOX_NAME,
        headers={"X-Keystore-Claim": claim.number},
    )


def claim_email_render(*, message):
    """The outbox renderer of claim emails, at send time, in the claim's language."""
    name = message.context["name"]
    claim = Claim.objects.select_related(
        "order", "order_line", "user", "exchange_product", "replacement_key"
    ).get(pk=message.context["claim_id"])
    language = claim.language or "en"
    with translation.override(language):  # labels and clause titles in the email's language
        context = claim_email_context(claim=claim, name=name)
    rendered = email_render(name=name, context=context, language=language)
    shown = [claim.replacement_key_id] if "code" in context else []
    # str(): the stubs allow lazy strings and bytes here; email_render wrote plain str.
    return RenderedEmail(
        subject=str(rendered.subject),
        text=str(rendered.body),
        html=str(rendered.alternatives[0][0]),
        to=[claim.customer_email],
        facts={"key_ids": shown},
    )


def claim_email_outbox_hook(*, message, event: str, facts: dict[str, Any]) -> None:
    """Once the SMTP server accepted a claim email with a code, audit that disclosure."""
    if event != "accepted" or not facts.get("key_ids"):
        return

    claim = Claim.objects.select_related("user").get(pk=message.context["claim_id"])
    for key_id in facts["key_ids"]:
        key_view_record(
            key_id=key_id, channel="email", user=claim.user, guest_email=claim.guest_email
        )
