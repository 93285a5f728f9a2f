"""Reads for pages composed from several apps: the catalog page with key stock, the
product page's promise (policies), the contact page, and My Account (orders, claims)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext, ngettext

from catalog.models import Product
from catalog.selectors import StockStatus, product_list, stock_status_for
from core.identity import shop_identity_get
from keys.models import Key
from keys.selectors import key_available_counts, key_sellable_q
from orders.selectors import order_page_for_user
from policies.selectors import preset_active_cached_get
from refunds.selectors import claim_rows_values, claims_for_user

if TYPE_CHECKING:
    from accounts.models import User


def product_available_counts(*, product_ids: list[int]) -> dict[int, int]:
    """Available keys per product, in one query (read from the key inventory)."""
    return key_available_counts(product_ids=product_ids)


def _in_stock_q() -> Exists:
    return Exists(
        Key.objects.filter(key_sellable_q(today=timezone.localdate()), product=OuterRef("pk"))
    )


def product_list_for_catalog(
    *,
    category_slug: str | None = None,
    platform: str | None = None,
    region: str | None = None,
    in_stock: bool = False,
    query: str | None = None,
    sort: str = "",
) -> QuerySet[Product]:
    """The catalog page's products: ``catalog.selectors.product_list``, and with
    ``in_stock`` only those with a sellable key (the catalog knows nothing of keys)."""
    qs = product_list(
        category_slug=category_slug, platform=platform, region=region, query=query, sort=sort
    )
    return qs.filter(_in_stock_q()) if in_stock else qs


def product_list_with_stock(*, products: list[Product]) -> list[tuple[Product, StockStatus]]:
    counts = product_available_counts(product_ids=[p.pk for p in products])
    return [(p, stock_status_for(product=p, available=counts.get(p.pk, 0))) for p in products]


@dataclass(frozen=True)
class ContactInfo:
    email: str
    phone: str
    hours: str
    working_days: list[str]
    opens: str
    closes: str
    time_zone: str


def contact_info_get() -> ContactInfo:
    """How to reach the shop (from its identity, never from a policy preset, whose
    contact details belong to the company that wrote it) and the business hours that
    claim deadlines count (the active preset's calendar)."""
    identity = shop_identity_get()
    rules = preset_active_cached_get()
    if rules is None:
        return ContactInfo(
            email=identity.support_email,
            phone=identity.support_phone,
            hours=identity.support_hours,
            working_days=[],
            opens="",
            closes="",
            time_zone="",
        )
    calendar = rules.calendar
    return ContactInfo(
        email=identity.support_email,
        phone=identity.support_phone,
        hours=identity.support_hours,
        working_days=[str(WEEKDAYS[day]) for day in working_week_ordered(calendar.working_days)],
        opens=calendar.opens.strftime("%H:%M"),
        closes=calendar.closes.strftime("%H:%M") if calendar.closes else "24:00",
        time_zone=calendar.time_zone,
    )


def working_week_ordered(days) -> list[int]:
    """Working days in the store's own week order: starting after its days off, so a
    Sunday-to-Thursday store reads Sunday first (0 = Monday, as datetime.weekday())."""
    days = sorted(set(days))
    if not days or len(days) == 7:
        return days
    start = next(d for d in days if (d - 1) % 7 not in days)
    return sorted(days, key=lambda d: (d - start) % 7)


@dataclass(frozen=True)
class PurchasePromise:
    """What the product page promises, from the active policy preset: delivery in one
    line, the policy in two, and where to read it in full."""

    delivery: str
    delivery_detail: str
    policy_lines: list[str]
    policy_url: str
    delivery_url: str


def purchase_promise_get() -> PurchasePromise:
    """Sentences written here (translated) from the preset's numbers, not the preset's
    own English wording, so every language reads its own."""
    rules = preset_active_cached_get()
    policies_index = reverse("policies:index")
    if rules is None:
        return PurchasePromise(
            delivery=gettext("Delivered in seconds, by email and on screen"),
            delivery_detail="",
            policy_lines=[],
            policy_url=policies_index,
            delivery_url=policies_index,
        )
    seconds = rules.delivery.promise_seconds
    if seconds is None or seconds <= 60:
        delivery = gettext("Delivered in seconds, by email and on screen")
    else:
        minutes = -(-seconds // 60)
        delivery = ngettext(
            "Delivered within %(n)s minute, by email and on screen",
            "Delivered within %(n)s minutes, by email and on screen",
            minutes,
        ) % {"n": minutes}
    hours = rules.delivery.non_delivery_deadline_hours
    detail = gettext("Your key appears on the order page the moment your payment clears.")
    if hours:
        detail += " " + ngettext(
            "Nothing after %(n)s hour? It counts as not delivered.",
            "Nothing after %(n)s hours? It counts as not delivered.",
            hours,
        ) % {"n": hours}
    remedy = rules.remedy
    if remedy.replacement_first and (
        remedy.refund_when_replacement_fails or remedy.refund_when_out_of_stock
    ):
        first = gettext("A key that does not work is replaced, or refunded if it cannot be.")
    elif remedy.replacement_first:
        first = gettext("A key that does not work is replaced.")
    else:
        first = gettext("A key that does not work is refunded.")
    days = rules.claim_window.days
    if days is None:
        second = gettext("Report a problem at any time from your order page.")
    elif rules.claim_window.anchor == "failure":
        second = ngettext(
            "Report a problem within %(n)s day of noticing it, from your order page.",
            "Report a problem within %(n)s days of noticing it, from your order page.",
            days,
        ) % {"n": days}
    else:
        second = ngettext(
            "Report a problem within %(n)s day of purchase, from your order page.",
            "Report a problem within %(n)s days of purchase, from your order page.",
            days,
        ) % {"n": days}
    return PurchasePromise(
        delivery=delivery,
        delivery_detail=detail,
        policy_lines=[first, second],
        policy_url=reverse("policies:document", kwargs={"kind": "refund"}),
        delivery_url=reverse("policies:document", kwargs={"kind": "delivery"}),
    )


ACCOUNT_CLAIMS_PER_PAGE = 10


def account_order_values(*, order: Any, time_zone: str) -> tuple:
    """Everything an order's entry in My Account shows (``orders/_account_orders.html``,
    kept rendered per process under these values, core.fragments): the order's columns,
    its lines and their masked keys, its key email's state, whether it can be sent again,
    and the time zone its date is written in."""
    email = order.key_email
    return (
        order.pk,
        order.number,
        order.created_at,
        order.total,
        order.currency,
        order.status,
        order.paid_at,
        tuple(
            (
                row.line.pk,
                row.line.quantity,
                row.line.product_name,
                tuple((key_row.key.pk, key_row.masked) for key_row in row.keys),
            )
            for row in order.account_rows
        ),
        (email.status, email.sent_at) if email is not None else None,
        order.resendable,
        time_zone,
    )


def dashboard_context_get(
    *, user: User, orders_page: Any = 1, claims_page: Any = 1
) -> dict[str, Any]:
    """Everything My Account shows: one page of the customer's orders with their masked
    keys, and one page of their claims. A fixed number of queries whatever the customer
    has bought or claimed."""
    orders = order_page_for_user(user=user, page_number=orders_page)
    zone = timezone.get_current_timezone_name()
    for order in orders.object_list:
        order.fragment_values = account_order_values(order=order, time_zone=zone)
    claims = Paginator(claims_for_user(user=user), ACCOUNT_CLAIMS_PER_PAGE).get_page(claims_page)
    return {
        "account_user": user,
        "orders_page": orders,
        "orders": orders.object_list,
        "claims_page": claims,
        "claims": claims.object_list,
        "claims_values": claim_rows_values(claims=claims.object_list),
    }
