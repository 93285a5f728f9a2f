"""The tax computation: one function from (regime, who buys, the lines) to net, tax, gross.

Pricing rules (the same on cart, checkout, the gateway, the order and the invoice):

* Catalogue prices are entered VAT-inclusive, at the shop's home rate (national regime:
  the national rate).
* Domestic sale, national regime: the customer pays the catalogue price; the VAT inside
  it is ``gross × rate / (100 + rate)``.
* EU OSS, consumer in another member state: the customer still pays the catalogue price
  (same gross price everywhere in the EU, as most digital shops do); the VAT inside it
  is computed at the customer's country's rate, so the shop's net varies by country.
* Reverse charge (EU business, valid VAT number, another member state) and outside scope
  (customer outside the EU): no VAT is charged, and the customer pays the catalogue price
  without the home VAT (``gross × 100 / (100 + home rate)``), i.e. the shop's net.
* Regime "none": the catalogue price, no tax.

Rounding: per line, in the currency's precision (``core.money``); a line's total is
``net + tax`` exactly and every order total is the exact sum of its lines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.money import money_quantize

from .choices import TaxRegime, TaxTreatment
from .rates import country_in_eu, vat_rate_get, vat_rates_load

ZERO = Decimal("0")
HUNDRED = Decimal("100")


@dataclass(frozen=True)
class TaxLineIn:
    key: Any
    unit_gross: Decimal  # catalogue price, VAT-inclusive at the shop's home rate
    quantity: int
    discount: Decimal = ZERO  # discount on the whole line, on the catalogue (gross) price


@dataclass(frozen=True)
class TaxLine:
    key: Any
    unit_price: Decimal  # the unit price this customer is charged before discount
    quantity: int
    subtotal: Decimal  # unit_price × quantity
    discount: Decimal
    net: Decimal
    tax: Decimal
    rate: Decimal  # percent
    total: Decimal  # what the customer pays for the line = net + tax = subtotal - discount


@dataclass(frozen=True)
class TaxDecision:
    treatment: str
    rate: Decimal  # the rate charged (0 when no VAT)
    home_rate: Decimal  # the rate inside catalogue prices


@dataclass(frozen=True)
class TaxResult:
    regime: str
    treatment: str
    rate: Decimal
    currency: str
    lines: tuple[TaxLine, ...]
    subtotal: Decimal
    discount_total: Decimal
    net_total: Decimal
    tax_total: Decimal
    total: Decimal
    rates_version: str

    @property
    def prices_include_tax(self) -> bool:
        return self.treatment in (TaxTreatment.DOMESTIC, TaxTreatment.OSS, TaxTreatment.NATIONAL)


class TaxConfigurationError(ValueError):
    """The shop's regime cannot be applied (e.g. EU OSS without an EU country)."""


def _rate(country: str, on: dt.date) -> Decimal:
    found = vat_rate_get(country=country, on=on)
    if found is None:
        raise TaxConfigurationError(f"no VAT rate for {country or '(no country)'} on {on}")
    return found.rate


def tax_treatment_decide(
    *,
    regime: str,
    shop_country: str,
    billing_country: str,
    business_vat_valid: bool,
    on: dt.date,
) -> TaxDecision:
    """How a sale is taxed. ``business_vat_valid``: the buyer gave a VAT number that passed
    the format check and belongs to ``billing_country``."""
    shop = (shop_country or "").upper()
    buyer = (billing_country or shop).upper()
    if regime == TaxRegime.NATIONAL:
        rate = _rate(shop, on)
        return TaxDecision(TaxTreatment.NATIONAL, rate, rate)
    if regime != TaxRegime.EU_OSS:
        return TaxDecision(TaxTreatment.NONE, ZERO, ZERO)
    if not country_in_eu(country=shop):
        raise TaxConfigurationError(f"EU OSS needs the shop in an EU country, not {shop!r}")
    home = _rate(shop, on)
    if buyer == shop:
        return TaxDecision(TaxTreatment.DOMESTIC, home, home)
    if not country_in_eu(country=buyer):
        return TaxDecision(TaxTreatment.OUTSIDE_SCOPE, ZERO, home)
    if business_vat_valid:
        return TaxDecision(TaxTreatment.REVERSE_CHARGE, ZERO, home)
    return TaxDecision(TaxTreatment.OSS, _rate(buyer, on), home)


def _line_compute(*, line: TaxLineIn, decision: TaxDecision, currency: str) -> TaxLine:
    def q(amount: Decimal) -> Decimal:
        return money_quantize(amount=amount, currency=currency)

    if line.quantity < 1:
        raise ValueError("quantity must be at least 1")
    unit_gross = q(line.unit_gross)
    gross = unit_gross * line.quantity
    discount = min(max(q(line.discount), ZERO), gross)
    if decision.treatment in (TaxTreatment.REVERSE_CHARGE, TaxTreatment.OUTSIDE_SCOPE):
        # charged without the home VAT; the discount shrinks in proportion
        factor = HUNDRED / (HUNDRED + decision.home_rate)
        unit_price = q(unit_gross * factor)
        subtotal = unit_price * line.quantity
        total = min(q((gross - discount) * factor), subtotal)
        return TaxLine(
            key=line.key,
            unit_price=unit_price,
            quantity=line.quantity,
            subtotal=subtotal,
            discount=subtotal - total,
            net=total,
            tax=ZERO,
            rate=ZERO,
            total=total,
        )
    total = gross - discount
    tax = q(total * decision.rate / (HUNDRED + decision.rate)) if decision.rate else ZERO
    return TaxLine(
        key=line.key,
        unit_price=unit_gross,
        quantity=line.quantity,
        subtotal=gross,
        discount=discount,
        net=total - tax,
        tax=tax,
        rate=decision.rate,
        total=total,
    )


def tax_compute(
    *,
    regime: str,
    shop_country: str,
    billing_country: str,
    business_vat_valid: bool,
    lines: Iterable[TaxLineIn],
    currency: str,
    on: dt.date,
) -> TaxResult:
    """Net, tax and what is charged, per line and in total (totals = sums of the lines)."""
    decision = tax_treatment_decide(
        regime=regime,
        shop_country=shop_country,
        billing_country=billing_country,
        business_vat_valid=business_vat_valid,
        on=on,
    )
    computed = tuple(_line_compute(line=li, decision=decision, currency=currency) for li in lines)

    def total_of(name: str) -> Decimal:
        return sum((getattr(li, name) for li in computed), ZERO)

    return TaxResult(
        regime=regime,
        treatment=decision.treatment,
        rate=decision.rate,
        currency=currency,
        lines=computed,
        subtotal=total_of("subtotal"),
        discount_total=total_of("discount"),
        net_total=total_of("net"),
        tax_total=total_of("tax"),
        total=total_of("total"),
        rates_version=vat_rates_load().version,
    )
