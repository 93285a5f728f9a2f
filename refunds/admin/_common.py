"""Pieces the claim and dispute admins share: who may press which button, the admin
log line, the deadline in business time, and what the claim page offers (canned replies,
exchange products, the key's history in one line).
"""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from catalog.models import Product

from ..models import CannedReply, Claim
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


def _canned_replies(claim: Claim):
    """The canned replies offered on this claim: its reason (or any reason), its language."""
    return CannedReply.objects.filter(
        Q(reason=claim.reason) | Q(reason=""), language=claim.language
    ).order_by("-reason", "title")


def _key_line(*, context_key, views) -> str:
    """The key's history in one line: status, batch, delivered, first view, views, IPs."""
    if context_key is None:
        return str(_("No key on this claim (order-level reason)."))
    views = views or []
    customer = [v for v in views if v.channel != "staff"]
    ips = sorted({v.ip for v in customer if v.ip})
    when = [v.created_at for v in customer]

    def stamp(moment):
        return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"

    return " · ".join(
        [
            f"#{context_key.pk} {context_key.masked}",
            str(context_key.get_status_display()),
            f"{_('batch')} #{context_key.batch_id}",
            f"{_('delivered')} {stamp(context_key.delivered_at)}",
            f"{_('first viewed')} {stamp(min(when) if when else None)}",
            f"{len(customer)} {_('views')}",
            f"IP {', '.join(ips[:3]) or '—'}" + (" …" if len(ips) > 3 else ""),
        ]
    )


def _exchange_products(claim: Claim):
    return (
        Product.objects.filter(
            is_active=True, currency=claim.order.currency, price__lte=claim.order_line.unit_paid
        )
        .exclude(pk=claim.order_line.product_id)
        .order_by("name")
    )
