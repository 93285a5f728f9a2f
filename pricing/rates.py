"""VAT rates as data: ``pricing/data/vat_rates.json`` (versioned, dated, with its source).

The file lists every EU member state's standard rate and Saudi Arabia's, each valid from
``effective_from`` to ``effective_to`` (inclusive, open when absent). A rate change is a new
row plus an ``effective_to`` on the old one, and a new ``version``: orders keep the rate
they were sold at (``OrderLine.tax_rate``), so history never moves.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

RATES_FILE = Path(__file__).resolve().parent / "data" / "vat_rates.json"


@dataclass(frozen=True)
class VatRate:
    country: str
    rate: Decimal  # percent, e.g. Decimal("20.00")
    effective_from: dt.date
    effective_to: dt.date | None
    source: str


@dataclass(frozen=True)
class RateTable:
    version: str
    eu_member_states: frozenset[str]
    rates: tuple[VatRate, ...]


@cache
def vat_rates_load(*, path: Path = RATES_FILE) -> RateTable:
    """The parsed data file (read once per process); raises ``ValueError`` on overlaps."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    rates = tuple(
        VatRate(
            country=row["country"].upper(),
            rate=Decimal(row["rate"]),
            effective_from=dt.date.fromisoformat(row["effective_from"]),
            effective_to=(
                dt.date.fromisoformat(row["effective_to"]) if row.get("effective_to") else None
            ),
            source=row["source"],
        )
        for row in raw["rates"]
    )
    by_country: dict[str, list[VatRate]] = {}
    for rate in rates:
        by_country.setdefault(rate.country, []).append(rate)
    for country, periods in by_country.items():
        periods.sort(key=lambda r: r.effective_from)
        for earlier, later in zip(periods, periods[1:], strict=False):
            if earlier.effective_to is None or earlier.effective_to >= later.effective_from:
                raise ValueError(f"{path.name}: overlapping VAT periods for {country}")
    return RateTable(
        version=str(raw["version"]),
        eu_member_states=frozenset(raw["eu_member_states"]),
        rates=rates,
    )


def vat_rate_get(*, country: str, on: dt.date) -> VatRate | None:
    """The standard VAT rate of ``country`` (ISO alpha-2) on the day ``on``; None if the
    file has no rate for it (a country outside the EU and Saudi Arabia)."""
    code = (country or "").upper()
    for rate in vat_rates_load().rates:
        if rate.country != code or rate.effective_from > on:
            continue
        if rate.effective_to is None or rate.effective_to >= on:
            return rate
    return None


def country_in_eu(*, country: str) -> bool:
    return (country or "").upper() in vat_rates_load().eu_member_states
