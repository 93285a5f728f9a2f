"""Reads for claims and disputes: the engine's case from a claim's facts, queues, access.

The decision itself is always `policies.engine.claim_decide` under the active preset; this
module only gathers the facts (order, key, views, stock, replacements already given).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import F, Min, Q, QuerySet
from django.utils import timezone
from django.utils.translation import get_language

from core.dates import datetime_for_customer
from core.identity import shop_identity_get
from keys.models import Key, KeyView
from keys.selectors import key_available_counts, key_views_for_key
from orders.models import Order
from orders.selectors import TimelineItem
from policies.documents import clause_titles
from policies.engine import ClaimCase, claim_decide, decision_explain
from policies.models import PolicyAcceptance, PolicyPreset
from policies.rules import Outcome, Treatment, preset_rules_shipped
from policies.selectors import clause_url, document_version_url, preset_active_get

from .models import (
    REASONS_WITHOUT_KEY,
    Claim,
    ClaimEvent,
    ClaimReason,
    ClaimStatus,
    Evidence,
    Remedy,
)


class NoActivePreset(LookupError):
    """The shop has no active policy preset: claims cannot be decided."""


def preset_rules_get(*, slug: str | None = None):
    """The active preset's rules (or a stored/shipped preset by slug)."""
    if slug:
        stored = PolicyPreset.objects.filter(slug=slug).first()
        return stored.rules_get() if stored else preset_rules_shipped(slug)
    rules = preset_active_get()
    if rules is None:
        raise NoActivePreset("no active policy preset")
    return rules


@dataclass(frozen=True)
class ReasonOption:
    code: str
    label: str
    covered: bool
    clause: str
    treatment: str
    needs_key: bool
    why: str = ""  # when not offered: one line saying why, in the customer's words


def reason_options_get(*, preset) -> list[ReasonOption]:
    """Every contract reason with whether the preset covers it (excluded ones explained)."""
    options = []
    for code, label in ClaimReason.choices:
        rule = preset.reasons.get(code)
        covered = rule is not None and rule.treatment != Treatment.REJECT
        clause = rule.clause if rule is not None else preset.not_covered_clause
        options.append(
            ReasonOption(
                code=code,
                label=str(label),
                covered=covered,
                clause=clause,
                treatment=rule.treatment if rule else "not_covered",
                needs_key=code not in REASONS_WITHOUT_KEY,
            )
        )
    return options


def customer_datetime(*, moment: datetime, time_zone: str) -> str:
    """The one way a date is written to a customer: the store's zone, the customer's
    language, e.g. "6 March 2026 at 11:00, Europe/Paris time" (``core.dates``)."""
    return datetime_for_customer(moment=moment, time_zone=time_zone)


def decision_explain_for_customer(*, decision, preset) -> str:
    """The engine's explanation with its dates written the customer's way."""
    zone = preset.calendar.time_zone
    return decision_explain(
        decision=decision, when=lambda moment: customer_datetime(moment=moment, time_zone=zone)
    )


def reason_options_for_order_get(*, preset, order, now: datetime | None = None):
    """The reasons that apply to this order as it is now (delivered or not, inside the
    window or not...), decided by the engine exactly as a claim would be with nothing
    verified or tried yet: a reason the engine would refuse is not offered, and says why
    in one line. Returns (offered, not_offered)."""
    line = order.lines.first()
    base = claim_case_build(
        order=order, order_line=line, key=None, reason="key_invalid", failed_at=None, now=now
    )
    offered, refused = [], []
    for option in reason_options_get(preset=preset):
        decision = claim_decide(case=replace(base, reason=option.code), preset=preset)
        if decision.outcome == Outcome.REJECT:
            why = decision_explain_for_customer(decision=decision, preset=preset)
            refused.append(replace(option, covered=False, clause=decision.clause, why=why))
        else:
            offered.append(replace(option, covered=True))
    return offered, refused


def _first_customer_view(*, key) -> datetime | None:
    views = [v for v in key_views_for_key(key=key) if getattr(v, "channel", "") != "staff"]
    times = [v.created_at for v in views if getattr(v, "created_at", None)]
    return min(times) if times else None


def replacements_given_count(*, order_line, exclude_claim: Claim | None = None) -> int:
    qs = Claim.objects.filter(
        order_line=order_line,
        remedy=Remedy.REPLACE,
        status__in=[ClaimStatus.APPROVED, ClaimStatus.CLOSED],
    )
    if exclude_claim is not None and exclude_claim.pk:
        qs = qs.exclude(pk=exclude_claim.pk)
    return qs.count()


def replacement_in_stock(*, product_id: int) -> bool:
    return key_available_counts(product_ids=[product_id]).get(product_id, 0) > 0


KEY_REMEDY_BY_CLAIM: dict[str, str] = {Remedy.REPLACE: "replaced", Remedy.REFUND: "refunded",
                       Remedy.EXCHANGE: "exchanged"}  # fmt: skip


def key_remedy_given_get(*, key, exclude_claim: Claim | None = None) -> str:
    """What ``key`` already received, for the engine's ``key_remedy`` and the claim form:
    "replaced" (a key was sent in its place), "refunded" / "exchanged" (a claim on it was
    decided so), "revoked" (withdrawn otherwise: a refund of its order, a chargeback), or
    "" when it had no remedy. ``exclude_claim``: the claim being decided does not count."""
    if key is None:
        return ""
    replaced = Key.objects.filter(replaces_id=key.pk)
    if exclude_claim is not None and exclude_claim.replacement_key_id:
        replaced = replaced.exclude(pk=exclude_claim.replacement_key_id)
    if replaced.exists():
        return "replaced"
    claims = Claim.objects.filter(key_id=key.pk).exclude(remedy="")
    if exclude_claim is not None and exclude_claim.pk:
        claims = claims.exclude(pk=exclude_claim.pk)
    remedy = claims.values_list("remedy", flat=True).first()
    if remedy:
        return KEY_REMEDY_BY_CLAIM[remedy]
    status = Key.objects.filter(pk=key.pk).values_list("status", flat=True).first()
    if status == "revoked" and not (exclude_claim is not None and exclude_claim.remedy):
        return "revoked"
    return ""


def claim_case_build(
    *,
    order,
    order_line,
    key,
    reason: str,
    failed_at: datetime | None,
    verification: str = "pending",
    activated: bool = False,
    support_exhausted: bool = False,
    now: datetime | None = None,
    claim: Claim | None = None,
):
    """The engine's `ClaimCase` for these facts (the contract's fields, from our data)."""
    now = now or timezone.now()
    purchased_at = order.paid_at or order.created_at
    delivered_at = getattr(key, "delivered_at", None) if key is not None else order.delivered_at
    if key is None and reason not in REASONS_WITHOUT_KEY:
        delivered_at = order.delivered_at
    return ClaimCase(
        now=now,
        purchased_at=purchased_at,
        delivered_at=delivered_at,
        first_viewed_at=_first_customer_view(key=key) if key is not None else None,
        activated=activated,
        reason=reason,
        failed_at=failed_at,
        verification=verification,
        replacements_given=replacements_given_count(order_line=order_line, exclude_claim=claim),
        replacement_in_stock=replacement_in_stock(product_id=order_line.product_id),
        support_exhausted=support_exhausted,
        key_remedy=key_remedy_given_get(key=key, exclude_claim=claim),
    )


def claim_recommendation_get(*, claim: Claim, now: datetime | None = None):
    """The engine's answer for this claim now, under the active preset (recomputed live)."""
    preset = preset_rules_get()
    case = claim_case_build(
        order=claim.order,
        order_line=claim.order_line,
        key=claim.key,
        reason=claim.reason,
        failed_at=claim.failed_at,
        verification=claim.verification,
        activated=claim.key_activated,
        support_exhausted=claim.support_exhausted,
        now=now,
        claim=claim,
    )
    return claim_decide(case=case, preset=preset)


def claims_recommendations_get(
    *, claims: list[Claim], now: datetime | None = None, preset: Any = None
) -> dict[int, Any]:
    """The engine's answer for each claim of a list page, from a fixed number of queries.

    The same facts as ``claim_case_build`` (first customer view, replacements already given,
    stock, the key's earlier remedy), each read for every claim at once; a claim maps to
    None when the shop has no active preset. ``claims`` should come with ``order``,
    ``order_line`` and ``key`` selected.
    """
    if not claims:
        return {}
    if preset is None:  # the caller may pass the active preset's rules it already read
        try:
            preset = preset_rules_get()
        except LookupError:
            return {claim.pk: None for claim in claims}
    now = now or timezone.now()
    key_ids = {c.key_id for c in claims if c.key_id}
    first_views = dict(
        KeyView.objects.filter(key_id__in=key_ids)
        .exclude(channel="staff")
        .values("key_id")
        .annotate(first=Min("created_at"))
        .order_by()
        .values_list("key_id", "first")
    )
    replaced_rows = list(
        Claim.objects.filter(
            order_line_id__in={c.order_line_id for c in claims},
            remedy=Remedy.REPLACE,
            status__in=[ClaimStatus.APPROVED, ClaimStatus.CLOSED],
        ).values_list("order_line_id", "pk")
    )
    stock = key_available_counts(product_ids=sorted({c.order_line.product_id for c in claims}))
    successors = list(Key.objects.filter(replaces_id__in=key_ids).values_list("replaces_id", "pk"))
    remedied = list(
        Claim.objects.filter(key_id__in=key_ids)
        .exclude(remedy="")
        .order_by("pk")
        .values_list("key_id", "pk", "remedy")
    )

    def key_remedy(claim: Claim) -> str:
        if not claim.key_id:
            return ""
        own = claim.replacement_key_id
        if any(k == claim.key_id and pk != own for k, pk in successors):
            return "replaced"
        for key_id, pk, remedy in remedied:
            if key_id == claim.key_id and pk != claim.pk:
                return KEY_REMEDY_BY_CLAIM[remedy]
        if claim.key is not None and claim.key.status == "revoked" and not claim.remedy:
            return "revoked"
        return ""

    answers = {}
    for claim in claims:
        order, key = claim.order, claim.key
        delivered_at = key.delivered_at if key is not None else order.delivered_at
        case = ClaimCase(
            now=now,
            purchased_at=order.paid_at or order.created_at,
            delivered_at=delivered_at,
            first_viewed_at=first_views.get(key.pk) if key is not None else None,
            activated=claim.key_activated,
            reason=claim.reason,
            failed_at=claim.failed_at,
            verification=claim.verification,
            replacements_given=sum(
                1 for line, pk in replaced_rows if line == claim.order_line_id and pk != claim.pk
            ),
            replacement_in_stock=stock.get(claim.order_line.product_id, 0) > 0,
            support_exhausted=claim.support_exhausted,
            key_remedy=key_remedy(claim),
        )
        answers[claim.pk] = claim_decide(case=case, preset=preset)
    return answers


def claim_queue_next(*, user, after: Claim | None = None) -> Claim | None:
    """The next claim waiting on staff for ``user``, in queue order: oldest due first (no
    deadline last, then oldest submitted), unassigned or assigned to them; claims waiting on
    the customer (needs_info) are not in it; ``after`` is skipped."""
    qs = Claim.objects.filter(
        Q(assignee__isnull=True) | Q(assignee=user),
        status__in=[ClaimStatus.SUBMITTED, ClaimStatus.VERIFYING],
    )
    if after is not None:
        qs = qs.exclude(pk=after.pk)
    return qs.order_by(F("verification_due_at").asc(nulls_last=True), "created_at", "pk").first()


def clause_url_get(*, clause_id: str) -> str:
    return clause_url(clause_id=clause_id)


def clause_title_get(*, clause_id: str, preset=None) -> str:
    try:
        preset = preset or preset_rules_get(slug=clause_id.split(".", 1)[0])
    except LookupError:
        return clause_id

    titles = clause_titles(preset.slug).get(clause_id, {})
    language = (get_language() or "en").split("-")[0]
    if titles.get(language):
        return titles[language]
    clause = preset.clause_get(clause_id)
    return clause.title if clause else clause_id


# --- access ------------------------------------------------------------------------------


# What the customer's lists of claims show (My Account, "Your claims"): only these columns
# are read (a whole claim with its whole order and line costs twice the CPU to load).
CLAIM_LIST_FIELDS = (
    "number", "status", "remedy", "created_at", "order__number", "order_line__product_name",
)  # fmt: skip


def claims_for_user(*, user) -> QuerySet[Claim]:
    return (
        Claim.objects.filter(user=user)
        .select_related("order", "order_line")
        .only(*CLAIM_LIST_FIELDS)
        .order_by("-created_at")
    )


def claim_rows_values(*, claims) -> tuple:
    """Everything a list of claims shows (``refunds/_account_claims.html``, kept rendered
    per process under these values and the language, core.fragments)."""
    return tuple(
        (
            claim.pk,
            claim.number,
            claim.order.number,
            claim.order_line.product_name if claim.order_line is not None else "",
            claim.status,
            claim.remedy,
        )
        for claim in claims
    )


def claim_get_for_customer(
    *, number: str, user=None, tracked_order_ids: list | None = None
) -> Claim | None:
    """The claim if this visitor may see it: its account owner, or a guest whose
    tracking session covers the claim's order. Anything else is None (a 404)."""
    claim = (
        Claim.objects.select_related("order", "order_line", "key", "user")
        .filter(number=number)
        .first()
    )
    if claim is None:
        return None
    if user is not None and user.is_authenticated:
        if claim.user_id == user.pk:
            return claim
        if claim.user_id is None and claim.order.user_id == user.pk:
            return claim
    if tracked_order_ids and str(claim.order_id) in {str(i) for i in tracked_order_ids}:
        return claim
    return None


def evidence_get_for_viewer(
    *, evidence_id: int, user=None, tracked_order_ids: list | None = None, upload_tokens=()
) -> Evidence | None:
    """Evidence may be seen by staff, the claim's owner, or (before the claim exists) the
    browser that uploaded it. Anything else is None (a 404)."""
    evidence = (
        Evidence.objects.select_related("claim", "claim__order").filter(pk=evidence_id).first()
    )
    if evidence is None:
        return None
    is_staff = user is not None and user.is_authenticated and user.is_staff
    if is_staff and user.has_perm("refunds.view_claim"):
        return evidence
    if evidence.claim is None:
        if evidence.upload_token and evidence.upload_token in set(upload_tokens):
            return evidence
        if user is not None and user.is_authenticated and evidence.uploaded_by_id == user.pk:
            return evidence
        return None
    visible = claim_get_for_customer(
        number=evidence.claim.number, user=user, tracked_order_ids=tracked_order_ids
    )
    return evidence if visible is not None else None


# --- staff -------------------------------------------------------------------------------


def claims_due_for_escalation(*, now: datetime, lead: timedelta) -> QuerySet[Claim]:
    return Claim.objects.filter(
        status__in=[ClaimStatus.SUBMITTED, ClaimStatus.VERIFYING],
        verification="pending",
        verification_due_at__isnull=False,
        verification_due_at__lte=now + lead,
        escalated_at__isnull=True,
    ).order_by("verification_due_at")


def claims_stale_needs_info(*, now: datetime, after: timedelta) -> QuerySet[Claim]:
    return Claim.objects.filter(
        status=ClaimStatus.NEEDS_INFO, needs_info_since__lte=now - after
    ).order_by("needs_info_since")


def customer_claims_recent_count(*, claim: Claim, since: datetime) -> int:
    q = Q(guest_email__iexact=claim.order.email)
    if claim.user_id:
        q |= Q(user_id=claim.user_id)
    return Claim.objects.filter(q, created_at__gte=since).count()


def customer_history_get(*, claim: Claim) -> dict[str, Any]:
    """The customer's other orders and claims, for the staff claim page."""
    email = claim.order.email
    order_q = Q(email__iexact=email)
    claim_q = Q(order__email__iexact=email)
    if claim.user_id:
        order_q |= Q(user_id=claim.user_id)
        claim_q |= Q(user_id=claim.user_id)
    return {
        "orders": list(Order.objects.filter(order_q).exclude(pk=claim.order_id)[:50]),
        "claims": list(
            Claim.objects.filter(claim_q).exclude(pk=claim.pk).select_related("order")[:50]
        ),
    }


def key_history_get(*, key) -> dict[str, Any]:
    """A key's life for staff: delivery, every view (IP, time, channel), its events."""
    if key is None:
        return {"key": None, "views": [], "events": []}

    events = list(key.events.all().order_by("created_at")) if hasattr(key, "events") else []
    return {"key": key, "views": list(key_views_for_key(key=key)), "events": events}


def dispute_evidence_facts_get(*, order) -> dict[str, str]:
    """What our records prove about a disputed order, as Stripe's text evidence fields."""
    keys = list(
        Key.objects.filter(order_line__order=order).select_related("product").order_by("id")
    )
    views = list(
        KeyView.objects.filter(key__in=keys).exclude(channel="staff").order_by("created_at", "id")
    )
    log_lines = [
        f"{v.created_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC: key {v.key.masked} "
        f"({v.key.product.name}) shown via {v.channel} to IP {v.ip or 'unknown'}"
        + (f", user agent {v.user_agent[:120]}" if v.user_agent else "")
        for v in views
    ]
    delivered = [k.delivered_at for k in keys if k.delivered_at] or (
        [order.delivered_at] if order.delivered_at else []
    )
    delivered_at = min(delivered) if delivered else None
    lines = list(order.lines.all())
    product_description = "; ".join(
        f"{line.quantity} x {line.product_name}: digital license key delivered electronically "
        "(shown on screen and sent by email)"
        for line in lines
    )
    policy_text = _refund_policy_disclosure(order=order)
    site = settings.SITE_URL.rstrip("/")
    delivery_summary = [
        f"Order {order.number} paid "
        + (f"{order.paid_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC" if order.paid_at else "-")
        + (
            f"; keys delivered {delivered_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
            if delivered_at
            else "; no key delivered"
        )
        + f"; {len(views)} recorded view(s) of the key(s) by the customer."
    ]
    first_views = [k.first_viewed_at for k in keys if k.first_viewed_at]
    if first_views:
        delivery_summary.append(
            f"First viewed by the customer {min(first_views).astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC."
        )
    delivery_summary.extend(_remedy_overrides(order=order))
    delivery_summary.append(f"Shop: {_shop_seller()} ({site}).")
    return {
        "access_activity_log": "\n".join(log_lines),
        "customer_email_address": order.email,
        "customer_name": order.billing_name,
        "customer_purchase_ip": order.purchase_ip or "",
        "product_description": product_description,
        "refund_policy_disclosure": policy_text,
        "service_date": f"{delivered_at.astimezone(UTC):%Y-%m-%d}" if delivered_at else "",
        "uncategorized_text": " ".join(delivery_summary),
    }


def _remedy_overrides(*, order) -> list[str]:
    """Remedies staff approved against the policy engine's recommendation, with their reason."""
    events = (
        ClaimEvent.objects.filter(claim__order=order, data__has_key="override")
        .select_related("claim")
        .order_by("created_at", "id")
    )
    lines = []
    for event in events:
        o = event.data["override"]
        lines.append(
            f"Claim {event.claim.number}: staff approved {o['approved']} on "
            f"{event.created_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC although the policy "
            f"recommended {o['recommended']} ({o['recommended_clause']}); reason: {o['reason']}."
        )
    return lines


def _refund_policy_disclosure(*, order) -> str:
    """The policy version the customer accepted at checkout, its URL and the consent."""
    site = settings.SITE_URL.rstrip("/")
    acceptances = list(
        PolicyAcceptance.objects.filter(order_ref=order.number)
        .select_related("document", "document__preset")
        .order_by("accepted_at", "id")
    )
    if not acceptances:
        return ""
    parts = []
    for a in acceptances:
        doc = a.document
        url = site + document_version_url(document=doc)  # the exact version accepted
        parts.append(
            f"{a.accepted_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC, IP {a.ip or 'unknown'}: "
            f'the customer ticked "{a.wording}" ({a.get_consent_kind_display()}, wording '
            f'v{a.wording_version}) for "{doc.title}" version {doc.version} '
            f"(effective {doc.effective_at:%Y-%m-%d}, {doc.language}), published at {url}."
        )
    return "Consent recorded at checkout: " + " ".join(parts)


def evidence_pending_list(*, ids: list[int], upload_token: str) -> list:
    """Screenshots this browser uploaded for a claim it has not sent yet."""
    return list(Evidence.objects.filter(pk__in=ids, claim__isnull=True, upload_token=upload_token))


def _shop_seller() -> str:
    """The shop as a payment provider should read it: its name and the legal seller."""
    identity = shop_identity_get()
    if identity.legal_name and identity.legal_name != identity.name:
        return f"{identity.name}, sold by {identity.legal_name}"
    return identity.name


def claims_timeline_items(*, order: Order) -> list[TimelineItem]:
    """An order's claims for its staff timeline (orders.hooks.order_timeline_sources)."""
    items = []
    for claim in Claim.objects.filter(order=order):
        parts = [claim.number, claim.reason, claim.status, claim.remedy]
        items.append(TimelineItem(claim.created_at, "claim", " · ".join(p for p in parts if p)))
    return items
