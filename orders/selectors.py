"""Order reads: My Account, tracking, access checks, fraud rules, checkout consents."""

from __future__ import annotations

import hmac
from copy import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import (
    Exists,
    F,
    Func,
    IntegerField,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Upper
from django.db.models.lookups import Exact
from django.utils import timezone

from accounts.selectors import user_verified_emails
from core.prepared import Param, PreparedQuery
from core.versioned_cache import versioned_cache_get
from keys.models import KeyView
from keys.selectors import keys_for_order, keys_for_orders
from policies.consents import POLICY_ACCEPTANCE, consent_wording, consent_wording_version
from policies.selectors import (
    checkout_consents_get,
    document_version_url,
    documents_current_list,
    preset_active_get,
    preset_active_record_get,
)

from .hooks import order_timeline_sources
from .models import (
    BlocklistEntry,
    BlocklistKind,
    FraudSettings,
    Order,
    OrderEmail,
    OrderLine,
    OrderRisk,
    OrderStatus,
    Refund,
    RefundStatus,
)

S = OrderStatus
VELOCITY_STATES = [
    S.PAID,
    S.ON_HOLD,
    S.BACKORDERED,
    S.DELIVERED,
    S.PARTIALLY_REFUNDED,
    S.REFUNDED,
    S.DISPUTED,
]
KEY_VISIBLE_STATES = frozenset({S.DELIVERED, S.PARTIALLY_REFUNDED, S.DISPUTED})
WAITING_STATES = frozenset({S.PENDING, S.PAID})
SLOW_WAITING_STATES = frozenset({S.ON_HOLD, S.BACKORDERED})


def email_normalize(value: str) -> str:
    return (value or "").strip().lower()


def number_normalize(value: str) -> str:
    value = (value or "").strip().upper().replace(" ", "")
    if value and not value.startswith("KS-"):
        value = "KS-" + value.removeprefix("KS")
    return value


# --- access -------------------------------------------------------------------------------


def _with_lines(qs: QuerySet[Order]) -> QuerySet[Order]:
    return qs.prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.select_related("product").order_by("id"))
    )


ACCOUNT_ORDERS_PER_PAGE = 10


def order_queryset_for_user(*, user: Any) -> QuerySet[Order]:
    """The user's own orders plus guest orders placed under one of their VERIFIED emails,
    newest first."""
    if not getattr(user, "is_authenticated", False):
        return Order.objects.none()

    condition = Q(user=user)
    for email in user_verified_emails(user=user):
        condition |= Q(user__isnull=True, email__iexact=email)
    return Order.objects.filter(condition).order_by("-created_at", "-pk")


# The columns My Account shows (orders/_account_orders.html): a whole order with its
# lines' whole products costs several times the CPU to load, for nothing on the page.
ACCOUNT_ORDER_FIELDS = ("number", "created_at", "total", "currency", "status", "paid_at")
ACCOUNT_LINE_FIELDS = ("order_id", "quantity", "product_name")
ACCOUNT_EMAIL_FIELDS = ("order_id", "kind", "status", "sent_at", "created_at")


def order_page_for_user(
    *, user: Any, page_number: Any = 1, per_page: int = ACCOUNT_ORDERS_PER_PAGE
) -> Page:
    """One page of the user's orders as My Account shows them: lines, masked keys (no
    decryption) and the key email's delivery state, from a fixed number of queries
    whatever the number of orders (count, orders, lines, keys, emails)."""
    queryset = (
        order_queryset_for_user(user=user)
        .only(*ACCOUNT_ORDER_FIELDS)
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.only(*ACCOUNT_LINE_FIELDS).order_by("id")),
            Prefetch("emails", queryset=OrderEmail.objects.only(*ACCOUNT_EMAIL_FIELDS)),
        )
    )
    page = Paginator(queryset, per_page).get_page(page_number)
    orders = list(page.object_list)
    rows = orders_keys_rows(orders=orders, masked_only=True)
    for order in orders:
        order.account_rows = rows[order.pk]
        order.key_email = next(
            (e for e in reversed(order.emails.all()) if e.kind in ("delivery", "resend")), None
        )
        order.resendable = order_resendable(order=order)
    page.object_list = orders
    return page


def order_visible_to_user(*, order: Order, user: Any) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if order.user_id == user.pk:
        return True
    if order.user_id is not None:
        return False

    return email_normalize(order.email) in user_verified_emails(user=user)


def order_get_for_tracking(*, number: str, email: str) -> Order | None:
    """The order with this number AND billing email, compared in constant time; else None.

    "No such order" and "wrong email" take the same path and give the same answer.
    """
    order = Order.objects.filter(number=number_normalize(number)).first()
    expected = email_normalize(order.email) if order else "no-order@invalid.invalid"
    matches = hmac.compare_digest(expected.encode(), email_normalize(email).encode())
    return order if (order is not None and matches) else None


def order_get_for_viewer(
    *, number: str, user: Any, session_access: dict[str, str]
) -> tuple[Order, str] | None:
    """The order and the channel it is seen through (screen, tracking, account), or None."""
    order = _with_lines(Order.objects.filter(number=number_normalize(number))).first()
    if order is None:
        return None
    channel = session_access.get(str(order.pk))
    if channel in ("screen", "tracking"):
        return order, channel
    if order_visible_to_user(order=order, user=user):
        return order, "account"
    return None


# --- what to show -------------------------------------------------------------------------


@dataclass
class KeyRow:
    key: Any
    masked: str
    code: str = ""
    unreadable: bool = False


@dataclass
class LineView:
    line: OrderLine
    keys: list[KeyRow] = field(default_factory=list)


def orders_keys_rows(
    *, orders: list[Order], masked_only: bool = False
) -> dict[Any, list[LineView]]:
    """Each order's lines with their delivered keys, masked (no decryption here), read in
    one query for all the orders (their lines should be prefetched). ``masked_only``: the
    keys are only listed (My Account), so their other columns are not read; the order
    page reveals codes from the rows, so it reads whole keys."""
    visible = [order.pk for order in orders if order.status in KEY_VISIBLE_STATES]
    by_line: dict[int, list] = {}
    keys = keys_for_orders(order_ids=visible)
    if masked_only:  # only what a masked row needs (not the ciphertext, product or line)
        keys = keys.select_related(None).only("status", "order_line_id", "last4")
    for key in keys:
        # keys_for_orders reads keys through their order line: order_line_id is set
        if key.status == "delivered" and key.order_line_id is not None:
            by_line.setdefault(key.order_line_id, []).append(key)
    return {
        order.pk: [
            LineView(
                line=line,
                keys=[
                    KeyRow(key=key, masked="•••• " + (getattr(key, "last4", "") or ""))
                    for key in by_line.get(line.pk, [])
                ],
            )
            for line in order.lines.all()
        ]
        for order in orders
    }


def order_keys_rows(*, order: Order) -> list[LineView]:
    """Lines with their delivered keys, masked (no decryption here)."""
    return orders_keys_rows(orders=[order])[order.pk]


def order_key_get(*, order: Order, key_id: int):
    """A delivered key of ``order`` (the caller has checked access), else None."""
    if order.status not in KEY_VISIBLE_STATES:
        return None
    return next(
        (k for k in keys_for_order(order=order) if k.pk == key_id and k.status == "delivered"),
        None,
    )


def order_cancellable(*, order: Order) -> bool:
    return order.status in (S.ON_HOLD, S.BACKORDERED)


def order_resendable(*, order: Order) -> bool:
    return order.status in KEY_VISIBLE_STATES


def order_is_waiting(*, order: Order) -> bool:
    """The page should refresh itself: payment or delivery is still under way."""
    return order.status in WAITING_STATES or order.status in SLOW_WAITING_STATES


def order_refresh_seconds(*, order: Order) -> int:
    """How often a waiting order page refreshes: fast while paying, slower while held."""
    return 10 if order.status in SLOW_WAITING_STATES else 2


# --- fraud ---------------------------------------------------------------------------------


def fraud_settings_get() -> FraudSettings:
    settings_row, _created = FraudSettings.objects.get_or_create(id=1)
    return settings_row


# Names of the process-local copies (core.versioned_cache) the fraud check reads; bumped on
# every change of their rows (orders.apps: post_save / post_delete).
FRAUD_SETTINGS_CACHE = "orders.fraud_settings"
BLOCKLIST_CACHE = "orders.blocklist"


def fraud_settings_cached_get() -> FraudSettings:
    """The fraud settings as last saved, without a query while they are unchanged (a copy:
    the caller may not change the shared one)."""
    return copy(versioned_cache_get(name=FRAUD_SETTINGS_CACHE, loader=fraud_settings_get))


def _blocklist_load() -> frozenset[tuple[str, str]]:
    return frozenset(BlocklistEntry.objects.values_list("kind", "value"))


@dataclass(frozen=True)
class FraudVerdict:
    hold: bool
    reasons: list[str]


def blocklist_matches(*, email: str, ip: str | None, card_fingerprint: str) -> list[str]:
    email = email_normalize(email)
    domain = email.rsplit("@", 1)[-1] if "@" in email else ""
    wanted = [(BlocklistKind.EMAIL, email)]
    if domain:
        wanted.append((BlocklistKind.EMAIL_DOMAIN, domain))
    if ip:
        wanted.append((BlocklistKind.IP, ip.lower()))
    if card_fingerprint:
        wanted.append((BlocklistKind.CARD, card_fingerprint.lower()))

    # The whole list, held per process while it is unchanged (a shop blocks hundreds of
    # values, not millions): a set lookup per value instead of a query per order.
    blocked = versioned_cache_get(name=BLOCKLIST_CACHE, loader=_blocklist_load)
    return [f"blocklisted {kind}" for kind, value in wanted if (kind, value) in blocked]


def fraud_check(*, order: Order, risk: OrderRisk | None = None) -> FraudVerdict:
    """Should this paid order be held for a security check before any key is shown?"""
    rules = fraud_settings_cached_get()
    if not rules.enabled:
        return FraudVerdict(hold=False, reasons=[])
    risk = risk or OrderRisk.objects.filter(order=order).first()
    risk_level = (risk.risk_level if risk else "") or ""
    card = (risk.card_fingerprint if risk else "") or ""
    reasons = blocklist_matches(email=order.email, ip=order.purchase_ip, card_fingerprint=card)

    if risk_level == "highest" and rules.hold_on_highest_risk:
        reasons.append("payment risk level highest")
    if risk_level == "elevated" and rules.hold_on_elevated_risk:
        reasons.append("payment risk level elevated")

    since = timezone.now() - timedelta(minutes=rules.velocity_window_minutes)
    limits = {"email": rules.velocity_max_per_email,
              "IP": rules.velocity_max_per_ip if order.purchase_ip else 0,
              "card": rules.velocity_max_per_card if card else 0}  # fmt: skip
    labels = tuple(label for label, limit in limits.items() if limit)
    threshold = rules.first_order_amount_threshold
    first_check = threshold is not None and order.total > threshold
    # One indexed count per rule ((upper(email), paid_at), (purchase_ip, paid_at), card):
    # each reads only that customer's recent orders, however busy the shop is. They run
    # as scalar subqueries of one statement (one round trip), each keeping its own index;
    # the statement is built by the ORM once per process and shape of the rules.
    row: tuple[Any, ...] = ()
    if labels or first_check:
        query = _velocity_query(labels=labels, first_check=first_check)
        values: dict[str, Any] = {"pk": order.pk, "since": since, "email": order.email,
                  "ip": order.purchase_ip, "card": card}  # fmt: skip
        found = query.fetch_values(**{name: values[name] for name in query.param_names})
        row = found[0] if found else ()
    named = dict(zip((*labels, *(("earlier",) if first_check else ())), row, strict=False))
    if first_check and not named.get("earlier"):
        reasons.append(f"first order above {threshold} {order.currency}")
    for label in labels:
        count = named.get(label, 0)
        if count >= limits[label]:
            reasons.append(
                f"{count + 1} paid orders from the same {label} within "
                f"{rules.velocity_window_minutes} minutes"
            )
    return FraudVerdict(hold=bool(reasons), reasons=reasons)


_VELOCITY_PARAMS: dict[str, Any] = {
    "pk": Order._meta.get_field("id"),
    "since": Order._meta.get_field("paid_at"),
    "email": Order._meta.get_field("email"),
    "ip": Order._meta.get_field("purchase_ip"),
    "card": OrderRisk._meta.get_field("card_fingerprint"),
}
_VELOCITY_QUERIES: dict[tuple[tuple[str, ...], bool], PreparedQuery] = {}


def _velocity_query(*, labels: tuple[str, ...], first_check: bool) -> PreparedQuery:
    """The velocity statement for these rules (counts by ``labels``, then whether the
    customer paid before when ``first_check``), prepared once per process and shape."""
    key = (labels, first_check)
    query = _VELOCITY_QUERIES.get(key)
    if query is None:
        needed = {"pk"} | ({"since"} if labels else set())
        needed |= {"email"} if "email" in labels or first_check else set()
        needed |= {"ip"} if "IP" in labels else set()
        needed |= {"card"} if "card" in labels else set()
        query = PreparedQuery(
            name=f"orders.fraud_velocity:{','.join(labels)}:{first_check}",
            build=partial(velocity_queryset, labels=labels, first_check=first_check),
            params={name: field for name, field in _VELOCITY_PARAMS.items() if name in needed},
        )
        _VELOCITY_QUERIES[key] = query
    return query


def velocity_queryset(
    *,
    labels: tuple[str, ...],
    first_check: bool,
    pk: Any,
    since: Any = None,
    email: Any = None,
    ip: Any = None,
    card: Any = None,
) -> QuerySet[Order, Any]:
    """One row: the count of the other recent paid orders per rule in ``labels`` (email,
    IP, card), then (``first_check``) whether the email paid for any order before."""
    others = Order.objects.exclude(pk=pk).filter(status__in=VELOCITY_STATES)
    # UPPER(email) = UPPER(%s): the case-insensitive match the (upper(email), paid_at)
    # index serves (the iexact lookup's own SQL is LIKE on SQLite)
    same_email: Exact[str] = Exact(
        Upper("email"), Upper(email if isinstance(email, Param) else Value(email))
    )
    conditions = {
        "email": same_email,
        "IP": Q(purchase_ip=ip),
        "card": Q(risk__card_fingerprint=card),
    }
    recent = others.filter(paid_at__gte=since) if labels else others
    columns: dict[str, Any] = {
        f"velocity_{label}": _count_subquery(recent.filter(conditions[label])) for label in labels
    }
    if first_check:
        columns["velocity_earlier"] = Exists(others.filter(same_email))
    return Order.objects.filter(pk=pk).annotate(**columns).values_list(*columns).order_by()[:1]


def _count_subquery(qs: QuerySet) -> Subquery:
    """``SELECT COUNT(*) ...`` of ``qs`` as a scalar subquery (no GROUP BY)."""
    counted = qs.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
    return Subquery(counted, output_field=IntegerField())


# --- checkout ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckoutConsent:
    kind: str
    required: bool
    wording: str
    wording_version: str
    clause_id: str
    clause_url: str
    legal_basis: str
    document_title: str
    document_url: str
    document_version: str


def checkout_open_get() -> bool:
    """Checkout sells only under an active policy preset (its pages are what customers
    accept); without one it is closed."""
    return preset_active_record_get() is not None


def checkout_consents_list(*, language: str) -> list[CheckoutConsent]:
    """The checkboxes checkout shows under the active preset (none ticked in advance).

    Always includes a policy acceptance box; the immediate-delivery consent and the
    withdrawal waiver appear only where the active preset requires them.
    """
    requirements = checkout_consents_get(language=language)
    rules = preset_active_get()
    # the legal basis in the language the page is shown in (presets carry it per language)
    legal = {c.kind: c.legal_basis.get(language) for c in rules.checkout_consents} if rules else {}
    consents = []
    for r in requirements:
        doc = r.document
        doc_url = document_version_url(document=doc) if doc else ""
        consents.append(
            CheckoutConsent(
                kind=r.kind,
                required=r.required,
                wording=r.wording,
                wording_version=r.wording_version,
                clause_id=r.clause_id,
                clause_url=r.clause_url,
                legal_basis=legal.get(r.kind, ""),
                document_title=doc.title if doc else "",
                document_url=doc_url,
                document_version=str(doc.version) if doc else "",
            )
        )
    if not any(c.kind == POLICY_ACCEPTANCE for c in consents):
        consents.insert(
            0,
            CheckoutConsent(
                kind=POLICY_ACCEPTANCE,
                required=True,
                wording=consent_wording(kind=POLICY_ACCEPTANCE, language=language),
                wording_version=consent_wording_version(kind=POLICY_ACCEPTANCE, language=language),
                clause_id="",
                clause_url="",
                legal_basis="",
                document_title="",
                document_url="",
                document_version="",
            ),
        )
    return consents


def checkout_documents_list(*, language: str) -> list[dict[str, str]]:
    """Links to the exact current versions of the policy pages."""
    return [
        {"title": doc.title, "url": document_version_url(document=doc), "version": str(doc.version)}
        for doc in documents_current_list(language=language)
    ]


def order_for_test_session_get(*, session_id: str) -> Order | None:
    """The order behind a session of the local test gateway's payment page."""
    return Order.objects.filter(gateway="test", gateway_session_id=session_id).first()


def refund_get(*, refund_id: str):
    """A refund by its id as a claim records it (text), or None."""
    return Refund.objects.filter(pk=refund_id).first() if str(refund_id).isdigit() else None


# --- refunds -------------------------------------------------------------------------------


def order_refundable_amount(*, order: Order, order_line: OrderLine | None = None) -> Decimal:
    """What may still be refunded on ``order`` (at most ``order_line``'s total when given).

    The one reading of "amount left to refund", for the admin's proposal and for the refund
    service's limit alike: every refund not cancelled is committed, a failed one included
    (it is retried with its idempotency key by the sweeper or by staff, and must still fit).
    A refund the gateway made that we have no row for yet is covered by ``refunded_total``.
    """
    committed = Refund.objects.filter(order_id=order.pk).exclude(
        status=RefundStatus.CANCELED
    ).aggregate(total=Sum("amount"))["total"] or Decimal("0")
    left = max(order.total - max(committed, order.refunded_total), Decimal("0"))
    if order_line is not None:
        left = min(left, order_line.line_total)
    return left


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str  # event | email | view | refund | claim
    text: str
    who: str = ""


def order_timeline_get(*, order: Order) -> list[TimelineItem]:
    """Everything that happened to an order, oldest first, in one list for staff: its
    events, emails, views of its keys (channel, IP; never a code), refunds, and what the
    apps above add (``orders.hooks.order_timeline_sources``: refunds' claims). A fixed
    number of queries (one per source)."""
    items: list[TimelineItem] = []
    for e in order.events.select_related("actor"):
        move = f"{e.from_status} → {e.to_status}" if e.to_status else ""
        facts = " ".join(f"{name}={value}" for name, value in (e.data or {}).items())
        text = " · ".join(part for part in (e.kind, move, e.reason, facts) if part)
        items.append(TimelineItem(e.created_at, "event", text, str(e.actor or "")))
    for m in order.emails.all():
        items.append(TimelineItem(m.created_at, "email", f"{m.kind} · {m.status} · {m.attempts}×"))
    views = KeyView.objects.filter(key__order_line__order=order).select_related("user", "key")
    for v in views:
        text = f"key #{v.key_id} {v.key.masked} · {v.channel} · {v.ip or '—'}"
        items.append(TimelineItem(v.created_at, "view", text, str(v.user or v.guest_email)))
    for r in order.refunds.all():
        text = f"{r.amount} {r.currency} · {r.reason} · {r.status}"
        items.append(TimelineItem(r.created_at, "refund", text))
    for source in order_timeline_sources:  # e.g. refunds: the order's claims
        items.extend(source(order=order))
    return sorted(items, key=lambda item: item.at)
