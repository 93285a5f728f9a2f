"""Issuing invoices and credit notes.

- :func:`invoice_issue_locked` runs inside the transaction of a paid order's delivery
  (``orders.hooks.order_delivery_hooks``; :func:`invoice_issue` on its own, for the
  sweeper and the key email's attachment): under the order's row lock it returns the
  order's invoice, or takes the next number of the series (:func:`document_number_take`,
  the series row locked by its ``UPDATE``) and writes the invoice with its snapshot, in
  that transaction. A rolled-back issue gives its number back, so numbers are gap-free;
  the unique constraints (one invoice per order, one (series, number)) back it.
- :func:`credit_note_issue` does the same for a succeeded refund: its lines are what the
  refund pays back of what was paid for each line (the claimed line first, the rest spread
  in proportion), never more than was paid, with the tax split as on the invoice line.

Locks are always taken in the order: order row (then its lines and keys, in a delivery),
then sequence row, last.
"""

from __future__ import annotations

import logging
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.identity import Identity, shop_identity_get
from core.money import currency_precision, money_quantize
from core.prepared import PreparedQuery, row_insert
from core.shop_clock import shop_time_zone
from orders.models import Order, OrderEvent, OrderEventKind, OrderLine, Refund, RefundStatus
from orders.services import order_event_add, order_event_build
from refunds.models import Claim

from .models import CreditNote, DocumentSequence, Invoice, InvoiceKind

logger = logging.getLogger(__name__)

ZERO = Decimal("0")
# Orders in these states were paid at some point: they get an invoice.
INVOICEABLE = ("paid", "on_hold", "backordered", "delivered", "partially_refunded", "refunded",
               "disputed", "cancelled")  # fmt: skip


class InvoiceError(Exception):
    pass


# --- numbering --------------------------------------------------------------------------


def shop_time_zone_name() -> str:
    return shop_time_zone()


def document_series_for(*, identity: Identity, issued_at: datetime, credit: bool) -> str:
    """The series a document issued at ``issued_at`` belongs to: the shop's prefix and the
    year in the shop's time zone (``AKM-2026``; credit notes ``AKM-CN-2026``)."""
    prefix = (identity.invoice_prefix or "INV-").rstrip("-") or "INV"
    year = issued_at.astimezone(zoneinfo.ZoneInfo(shop_time_zone_name())).year
    return f"{prefix}-CN-{year}" if credit else f"{prefix}-{year}"


def document_display_number(*, series: str, number: int) -> str:
    return f"{series}-{number:06d}"


def document_number_take(*, series: str) -> int:
    """The next number of ``series``, taken inside the caller's transaction (the series
    row stays locked until it commits; a rollback gives the number back).

    One statement: the ``UPDATE ... RETURNING`` locks the row, counts on and says which
    number was taken (PostgreSQL, and SQLite since 3.35). Take it as the transaction's
    last lock: every issue of the shop waits on this one row until its commit."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("document_number_take must run inside the issuing transaction")
    if not _update_returning_supported():
        DocumentSequence.objects.get_or_create(series=series)
        locked = DocumentSequence.objects.select_for_update().get(series=series)
        DocumentSequence.objects.filter(pk=locked.pk).update(next_number=locked.next_number + 1)
        return locked.next_number
    with connection.cursor() as cursor:
        cursor.execute(_NUMBER_TAKE_SQL, [series])
        row = cursor.fetchone()
    if row is None:  # the series' first document: create its row, then take from it
        DocumentSequence.objects.get_or_create(series=series)
        return document_number_take(series=series)
    return int(row[0])


def _update_returning_supported() -> bool:
    """``UPDATE ... RETURNING``: PostgreSQL, and SQLite from 3.35 (an older system SQLite
    under Python 3.11 has not got it)."""
    return bool(connection.features.can_return_columns_from_insert)


# DocumentSequence's table (quoted identifiers: the same text on PostgreSQL and SQLite)
_NUMBER_TAKE_SQL = (
    'UPDATE "invoices_documentsequence" SET "next_number" = "next_number" + 1 '
    'WHERE "series" = %s RETURNING "next_number" - 1'
)


# --- snapshots ------------------------------------------------------------------------------


def _money(value: Any, currency: str) -> str:
    return str(money_quantize(amount=value or 0, currency=currency))


def _seller(identity: Identity) -> dict[str, Any]:
    return {
        "name": identity.name,
        "legal_name": identity.legal_name or identity.name,
        "address_lines": identity.address_lines,
        "country": identity.country,
        "vat_number": identity.vat_number,
        "company_number": identity.company_number,
        "support_email": identity.support_email,
    }


def _buyer(order: Order) -> dict[str, Any]:
    return {
        "name": order.billing_name,
        "email": order.email,
        "country": order.billing_country,
        "company": order.billing_company,
        "vat_number": order.billing_vat_number,
    }


def _rates(lines: list[dict[str, Any]], currency: str) -> list[dict[str, str]]:
    """Totals per VAT rate (what a VAT return and the invoice's summary show)."""
    grouped: dict[str, dict[str, Decimal]] = {}
    for line in lines:
        bucket = grouped.setdefault(line["rate"], {"net": ZERO, "tax": ZERO, "gross": ZERO})
        for name in ("net", "tax", "gross"):
            bucket[name] += Decimal(line[name])
    return [
        {"rate": rate, **{k: _money(v, currency) for k, v in sums.items()}}
        for rate, sums in sorted(grouped.items(), key=lambda item: Decimal(item[0]))
    ]


# The legal mention each tax treatment prints (in the document's language).
def _mentions(*, treatment: str, regime: str) -> list[dict[str, str]]:
    texts = {
        "reverse_charge": _(
            "Reverse charge — VAT to be accounted for by the recipient "
            "(Article 196, Directive 2006/112/EC)."
        ),
        "outside_scope": _(
            "VAT not applicable — service supplied outside the EU, outside the scope of "
            "EU VAT (Article 59, Directive 2006/112/EC)."
        ),
        "oss": _(
            "VAT of the customer's member state, declared under the One-Stop Shop (OSS) scheme."
        ),
    }
    if treatment in texts:
        return [{"code": treatment, "text": str(texts[treatment])}]
    if regime == "none":
        return [{"code": "no_vat", "text": str(_("No VAT charged."))}]
    return []


def _is_ksa(identity: Identity) -> bool:
    return identity.country == "SA"


def invoice_kind_for(*, order: Order, identity: Identity) -> str:
    """A simplified tax invoice for a consumer under a single national rate (KSA B2C)."""
    if order.tax_regime == "national" and not order.billing_vat_number:
        return InvoiceKind.SIMPLIFIED
    return InvoiceKind.INVOICE


def _invoice_lines(order: Order, lines: list[OrderLine] | None = None) -> list[dict[str, Any]]:
    """The invoice lines of ``order``: its ``lines`` when the caller has them (read in its
    transaction), else read now; exchange lines are not invoiced."""
    currency = order.currency
    if lines is None:
        lines = list(order.lines.order_by("id"))
    return [
        {
            "line_id": line.pk,
            "description": line.product_name,
            "quantity": line.quantity,
            "unit_price": _money(line.unit_price, currency),
            "discount": _money(line.discount_amount, currency),
            "net": _money(line.net_amount, currency),
            "rate": str(Decimal(line.tax_rate).quantize(Decimal("0.01"))),
            "tax": _money(line.tax_amount, currency),
            "gross": _money(line.line_total, currency),
        }
        for line in sorted(lines, key=lambda line: line.pk)
        if not line.exchange_reference
    ]


def invoice_snapshot_build(
    *,
    order: Order,
    identity: Identity,
    number: str,
    kind: str,
    issued_at: datetime,
    lines: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Everything the invoice prints, as issued (immutable afterwards). ``lines``: the
    invoice lines (``_invoice_lines``) when the caller built them already."""
    language = order.language or "en"
    currency = order.currency
    lines = _invoice_lines(order) if lines is None else lines
    with translation.override(language):
        mentions = _mentions(treatment=order.tax_treatment, regime=order.tax_regime)
    supplied = order.paid_at or issued_at
    return {
        "type": "invoice",
        "kind": kind,
        "number": number,
        "issued_at": issued_at.isoformat(),
        "supply_date": supplied.isoformat(),
        "time_zone": shop_time_zone_name(),
        "language": language,
        "bilingual_arabic": _is_ksa(identity),
        "currency": currency,
        "order_number": order.number,
        "seller": _seller(identity),
        "buyer": _buyer(order),
        "lines": lines,
        "totals": {
            "subtotal": _money(order.subtotal, currency),
            "discount": _money(order.discount_total, currency),
            "net": _money(order.net_total, currency),
            "tax": _money(order.tax_total, currency),
            "gross": _money(order.total, currency),
        },
        "rates": _rates(lines, currency),
        "coupon_code": order.coupon_code,
        "tax_regime": order.tax_regime,
        "tax_treatment": order.tax_treatment,
        "mentions": mentions,
    }


# --- invoices -------------------------------------------------------------------------------


def invoice_issue(*, order_id: Any) -> Invoice | None:
    """The order's invoice, issued once (None while the order was never paid).

    Idempotent: the order row is locked and an existing invoice returned; a concurrent
    second run waits for the lock and finds it. (A paid order's delivery issues it in its
    own transaction: :func:`invoice_issue_for_delivery`; the sweeper and the key email's
    attachment come here for what that left out.)
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        invoice = invoice_issue_locked(order=order)
    return invoice


# The existing invoice of an order (at most one: invoice_one_per_order), asked by every
# paid order's delivery: its statement is built by the ORM once per process.
INVOICE_OF_ORDER: PreparedQuery[Invoice] = PreparedQuery(
    name="invoices.invoice_of_order",
    build=lambda *, order_id: Invoice.objects.filter(order_id=order_id).order_by()[:1],
    params={"order_id": Invoice._meta.get_field("order").target_field},
)


def invoice_issue_locked(
    *,
    order: Order,
    lines: list[OrderLine] | None = None,
    events: list[OrderEvent] | None = None,
) -> Invoice | None:
    """:func:`invoice_issue` for an order row the caller's transaction holds locked
    (``select_for_update``): returns the existing invoice, or takes the next number (the
    series row, locked until the caller commits: call this after every other lock) and
    writes the invoice. ``lines``: the order's lines if the caller read them; the
    "issued" event is appended to ``events`` when given (the caller inserts it), else
    written here."""
    found = INVOICE_OF_ORDER.fetch(order_id=order.pk)
    if found:
        return found[0]
    if order.paid_at is None or order.status not in INVOICEABLE:
        return None
    identity = shop_identity_get(use_cache=False)
    issued_at = timezone.now()
    series = document_series_for(identity=identity, issued_at=issued_at, credit=False)
    kind = invoice_kind_for(order=order, identity=identity)
    invoice_lines = _invoice_lines(order, lines)
    snapshot = invoice_snapshot_build(
        order=order,
        identity=identity,
        number="",  # known once taken, below
        kind=kind,
        issued_at=issued_at,
        lines=invoice_lines,
    )
    # Every invoice of the shop waits on the series row from here until this transaction
    # commits: only the invoice's own row and events are written after it (measured: the
    # deliveries queued on this lock were the ceiling of two nodes, bench/README.md).
    number = document_number_take(series=series)
    display = document_display_number(series=series, number=number)
    snapshot["number"] = display
    invoice = Invoice(
        series=series,
        number=number,
        display_number=display,
        kind=kind,
        order=order,
        issued_at=issued_at,
        language=snapshot["language"],
        currency=order.currency,
        buyer_country=order.billing_country or "",
        tax_treatment=order.tax_treatment or "",
        net_total=order.net_total,
        tax_total=order.tax_total,
        gross_total=order.total,
        snapshot=snapshot,
    )
    row_insert(obj=invoice)
    event = order_event_build(
        order=order, kind=OrderEventKind.INVOICE, reason=f"invoice {display} issued"
    )
    if events is None:
        row_insert(obj=event)
    else:
        events.append(event)
    logger.info("invoice %s issued for order %s", display, order.number)
    return invoice


def invoice_issue_for_delivery(
    *, order: Order, lines: list[OrderLine] | None, events: list[OrderEvent]
) -> dict[str, Any]:
    """orders.hooks.order_delivery_hooks: the paid order's delivery issues its invoice in
    its own transaction (no task of its own), and hands it to the key email's attachment
    (``invoices.delivery``) in memory."""
    return {"invoice": invoice_issue_locked(order=order, lines=lines, events=events)}


# --- credit notes ---------------------------------------------------------------------------


@dataclass
class _LineLeft:
    line: dict[str, Any]
    gross: Decimal  # still creditable
    tax: Decimal


def _lines_left(invoice: Invoice) -> dict[int, _LineLeft]:
    left = {
        line["line_id"]: _LineLeft(
            line=line, gross=Decimal(line["gross"]), tax=Decimal(line["tax"])
        )
        for line in invoice.snapshot["lines"]
    }
    for note in invoice.credit_notes.all():
        for credited in note.snapshot["lines"]:
            entry = left.get(credited["line_id"])
            if entry is not None:
                entry.gross -= Decimal(credited["gross"])
                entry.tax -= Decimal(credited["tax"])
    return left


def _refund_target_line_ids(refund: Refund) -> list[int]:
    """The order lines a refund is for, when it names one: a claim's (or an exchange's)
    refund pays back the claimed line first. Others (cancellation, a refund made at the
    gateway) are spread over every line."""
    if refund.reason in ("claim", "claim_exchange") and refund.reference:
        line_id = (
            Claim.objects.filter(order_id=refund.order_id, number=refund.reference)
            .values_list("order_line_id", flat=True)
            .first()
        )
        return [line_id] if line_id else []
    return []


def credit_allocate(
    *, amount: Decimal, left: dict[int, _LineLeft], targets: list[int], currency: str
) -> dict[int, Decimal]:
    """Split ``amount`` over the lines: the target lines first (up to what is left on
    each), the rest in proportion to what is left on the others, in the currency's
    precision, never more than is left on a line."""
    allocation: dict[int, Decimal] = {}
    remaining = min(amount, sum((entry.gross for entry in left.values()), ZERO))
    for line_id in targets:
        entry = left.get(line_id)
        if entry is None or remaining <= 0:
            continue
        take = min(remaining, entry.gross)
        if take > 0:
            allocation[line_id] = take
            remaining -= take
    if remaining > 0:
        capacity = {
            line_id: entry.gross - allocation.get(line_id, ZERO)
            for line_id, entry in left.items()
            if entry.gross - allocation.get(line_id, ZERO) > 0
        }
        pool = sum(capacity.values(), ZERO)
        shares = {
            line_id: min(cap, money_quantize(amount=remaining * cap / pool, currency=currency))
            for line_id, cap in capacity.items()
        }
        # the rounding difference goes to the lines that still have room, largest first
        diff = remaining - sum(shares.values(), ZERO)
        unit = Decimal(1).scaleb(-currency_precision(currency=currency))
        for line_id in sorted(capacity, key=lambda k: capacity[k], reverse=True):
            while diff > 0 and shares[line_id] < capacity[line_id]:
                step = min(unit, diff, capacity[line_id] - shares[line_id])
                shares[line_id] += step
                diff -= step
            while diff < 0 and shares[line_id] > 0:
                step = min(unit, -diff, shares[line_id])
                shares[line_id] -= step
                diff += step
        for line_id, share in shares.items():
            if share > 0:
                allocation[line_id] = allocation.get(line_id, ZERO) + share
    return allocation


def _credit_lines(
    *, allocation: dict[int, Decimal], left: dict[int, _LineLeft], currency: str
) -> list[dict[str, Any]]:
    lines = []
    for line_id, gross in allocation.items():
        entry = left[line_id]
        line = entry.line
        if gross >= entry.gross:  # the rest of the line: exactly the tax still on it
            tax = entry.tax
        elif Decimal(line["gross"]) > 0:
            tax = money_quantize(
                amount=gross * Decimal(line["tax"]) / Decimal(line["gross"]), currency=currency
            )
        else:
            tax = ZERO
        lines.append(
            {
                "line_id": line_id,
                "description": line["description"],
                "quantity": line["quantity"],
                "rate": line["rate"],
                "net": _money(gross - tax, currency),
                "tax": _money(tax, currency),
                "gross": _money(gross, currency),
            }
        )
    return sorted(lines, key=lambda item: item["line_id"])


def _refund_reason_text(reason: str) -> str:
    labels = {
        "cancelled": _("Order cancelled"),
        "claim": _("Refund after a claim"),
        "claim_exchange": _("Price difference of an exchange"),
        "gateway": _("Refund made through the payment provider"),
    }
    return str(labels.get(reason, _("Refund")))


def credit_note_issue(*, refund_id: int) -> CreditNote | None:
    """The credit note of a succeeded refund, issued once against the order's invoice
    (issued first if it is missing). None while the refund has not succeeded."""
    refund = Refund.objects.get(pk=refund_id)
    if refund.status != RefundStatus.SUCCEEDED:
        return None
    invoice_issue(order_id=refund.order_id)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=refund.order_id)
        existing = CreditNote.objects.filter(refund_id=refund.pk).first()
        if existing is not None:
            return existing
        invoice = Invoice.objects.filter(order=order).first()
        if invoice is None:
            raise InvoiceError(f"order {order.number} has no invoice to credit")
        currency = invoice.currency
        left = _lines_left(invoice)
        allocation = credit_allocate(
            amount=refund.amount,
            left=left,
            targets=_refund_target_line_ids(refund),
            currency=currency,
        )
        lines = _credit_lines(allocation=allocation, left=left, currency=currency)
        if not lines:
            logger.warning("refund %s: nothing left to credit on %s", refund.pk, invoice)
            return None
        identity = shop_identity_get(use_cache=False)
        issued_at = timezone.now()
        series = document_series_for(identity=identity, issued_at=issued_at, credit=True)
        number = document_number_take(series=series)
        display = document_display_number(series=series, number=number)
        totals = {
            name: _money(sum((Decimal(line[name]) for line in lines), ZERO), currency)
            for name in ("net", "tax", "gross")
        }
        language = invoice.language
        with translation.override(language):
            reason_text = _refund_reason_text(refund.reason)
        source = invoice.snapshot
        snapshot = {
            "type": "credit_note",
            "kind": source["kind"],
            "number": display,
            "issued_at": issued_at.isoformat(),
            "supply_date": source["supply_date"],
            "time_zone": source["time_zone"],
            "language": language,
            "bilingual_arabic": source.get("bilingual_arabic", False),
            "currency": currency,
            "order_number": order.number,
            "invoice_number": invoice.display_number,
            "invoice_issued_at": source["issued_at"],
            "reason": reason_text,
            "seller": _seller(identity),
            "buyer": source["buyer"],
            "lines": lines,
            "totals": totals,
            "rates": _rates(lines, currency),
            "tax_regime": source["tax_regime"],
            "tax_treatment": source["tax_treatment"],
            "mentions": source["mentions"],
        }
        note = CreditNote.objects.create(
            series=series,
            number=number,
            display_number=display,
            invoice=invoice,
            refund=refund,
            reason=refund.reason,
            issued_at=issued_at,
            language=language,
            currency=currency,
            buyer_country=invoice.buyer_country,
            tax_treatment=invoice.tax_treatment,
            net_total=Decimal(totals["net"]),
            tax_total=Decimal(totals["tax"]),
            gross_total=Decimal(totals["gross"]),
            snapshot=snapshot,
        )
        order_event_add(
            order=order,
            kind=OrderEventKind.CREDIT_NOTE,
            reason=f"credit note {display} issued ({refund.reason})",
        )
    logger.info("credit note %s issued for refund %s", display, refund.pk)
    return note


# --- the sweeper ----------------------------------------------------------------------------


def invoices_sweep(*, grace_seconds: int = 120, limit: int = 500) -> tuple[int, int]:
    """Issue what a lost task left out: paid orders without an invoice and succeeded refunds
    without a credit note, older than ``grace_seconds``. Returns (invoices, credit notes)."""
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    orders = (
        Order.objects.filter(paid_at__isnull=False, paid_at__lte=cutoff, status__in=INVOICEABLE)
        .filter(invoices__isnull=True)
        .values_list("pk", flat=True)[:limit]
    )
    issued = sum(1 for pk in list(orders) if invoice_issue(order_id=pk) is not None)
    refunds = (
        Refund.objects.filter(status=RefundStatus.SUCCEEDED, updated_at__lte=cutoff)
        .filter(credit_notes__isnull=True)
        .values_list("pk", flat=True)[:limit]
    )
    credited = sum(1 for pk in list(refunds) if credit_note_issue(refund_id=pk) is not None)
    return issued, credited
