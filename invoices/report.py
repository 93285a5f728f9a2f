"""The VAT report: per country, currency and rate, what the period's invoices and credit
notes add up to (credit notes negative) -- the figures of an OSS return.

The period is a range of days in the store's time zone; a document counts in the period
its issue date falls in.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from .models import CreditNote, Invoice
from .services import shop_time_zone_name

ZERO = Decimal("0")


@dataclass
class VatRow:
    country: str
    currency: str
    rate: Decimal
    net: Decimal = ZERO
    tax: Decimal = ZERO
    gross: Decimal = ZERO
    invoices: int = 0
    credit_notes: int = 0


@dataclass
class VatTotal:
    currency: str
    net: Decimal = ZERO
    tax: Decimal = ZERO
    gross: Decimal = ZERO
    invoices: int = 0
    credit_notes: int = 0


@dataclass
class VatReport:
    start: date
    end: date  # inclusive
    time_zone: str
    rows: list[VatRow] = field(default_factory=list)
    totals: list[VatTotal] = field(default_factory=list)


def period_bounds(*, start: date, end: date, time_zone: str) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in ``time_zone``, as aware datetimes."""
    zone = zoneinfo.ZoneInfo(time_zone)
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )


def _documents(model, lower: datetime, upper: datetime) -> Iterator[tuple[str, str, dict]]:
    rows = (
        model.objects.filter(issued_at__gte=lower, issued_at__lt=upper)
        .order_by("id")
        .values_list("buyer_country", "currency", "snapshot")
    )
    yield from rows.iterator(chunk_size=2000)


def vat_report_build(*, start: date, end: date, time_zone: str | None = None) -> VatReport:
    zone_name = time_zone or shop_time_zone_name()
    lower, upper = period_bounds(start=start, end=end, time_zone=zone_name)
    buckets: dict[tuple[str, str, Decimal], VatRow] = {}
    for model, sign in ((Invoice, 1), (CreditNote, -1)):
        for country, currency, snapshot in _documents(model, lower, upper):
            for rate in snapshot.get("rates", []):
                key = (country or "", currency, Decimal(rate["rate"]))
                row = buckets.setdefault(
                    key, VatRow(country=key[0], currency=currency, rate=key[2])
                )
                row.net += sign * Decimal(rate["net"])
                row.tax += sign * Decimal(rate["tax"])
                row.gross += sign * Decimal(rate["gross"])
                if sign > 0:
                    row.invoices += 1
                else:
                    row.credit_notes += 1
    report = VatReport(start=start, end=end, time_zone=zone_name)
    report.rows = [buckets[key] for key in sorted(buckets)]
    totals: dict[str, VatTotal] = {}
    for row in report.rows:
        total = totals.setdefault(row.currency, VatTotal(currency=row.currency))
        total.net += row.net
        total.tax += row.tax
        total.gross += row.gross
        total.invoices += row.invoices
        total.credit_notes += row.credit_notes
    report.totals = [totals[currency] for currency in sorted(totals)]
    return report


def period_for(*, kind: str, year: int, month: int = 1, quarter: int = 1) -> tuple[date, date]:
    """The first and last day of a month or a quarter."""
    if kind == "quarter":
        first = date(year, 3 * (quarter - 1) + 1, 1)
        months = 3
    else:
        first = date(year, month, 1)
        months = 1
    next_month = first.month - 1 + months
    after = date(first.year + next_month // 12, next_month % 12 + 1, 1)
    return first, after - timedelta(days=1)


VAT_REPORT_HEADER = [
    "country",
    "currency",
    "vat_rate",
    "net",
    "vat",
    "gross",
    "invoices",
    "credit_notes",
]


def vat_report_csv_rows(*, report: VatReport) -> Iterator[list]:
    for row in report.rows:
        yield [row.country, row.currency, row.rate, row.net, row.tax, row.gross, row.invoices,
               row.credit_notes]  # fmt: skip
    for total in report.totals:
        yield ["TOTAL", total.currency, "", total.net, total.tax, total.gross, total.invoices,
               total.credit_notes]  # fmt: skip
