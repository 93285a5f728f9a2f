"""Tax as data: the rates file, each regime's computation, rounding properties."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pricing.rates import vat_rate_get, vat_rates_load
from pricing.taxes import TaxConfigurationError, TaxLineIn, tax_compute

TODAY = dt.date(2026, 11, 30)
EU27 = {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"}  # fmt: skip


def _compute(regime, shop, buyer, *, business=False, lines=None, currency="EUR"):
    lines = lines or [TaxLineIn(key=1, unit_gross=Decimal("29.90"), quantity=1)]
    return tax_compute(
        regime=regime, shop_country=shop, billing_country=buyer, business_vat_valid=business,
        lines=lines, currency=currency, on=TODAY,
    )  # fmt: skip


def test_the_rates_file_has_a_dated_sourced_rate_for_every_member_state_and_saudi_arabia():
    table = vat_rates_load()
    assert table.version and table.eu_member_states == EU27
    for country in EU27 | {"SA"}:
        rate = vat_rate_get(country=country, on=TODAY)
        assert rate is not None, country
        assert Decimal("15") <= rate.rate <= Decimal("27") and rate.source
    assert vat_rate_get(country="US", on=TODAY) is None


def test_a_rate_change_is_read_by_date():
    assert vat_rate_get(country="FI", on=dt.date(2024, 8, 31)).rate == Decimal("24.00")
    assert vat_rate_get(country="FI", on=dt.date(2024, 9, 1)).rate == Decimal("25.50")
    assert vat_rate_get(country="SA", on=dt.date(2020, 6, 30)).rate == Decimal("5.00")
    assert vat_rate_get(country="SA", on=dt.date(2020, 7, 1)).rate == Decimal("15.00")


def test_domestic_french_sale_carries_20_percent_inside_the_price():
    result = _compute("eu_oss", "FR", "FR")
    [line] = result.lines
    assert (result.treatment, line.rate) == ("domestic", Decimal("20.00"))
    assert (line.net, line.tax, line.total) == (Decimal("24.92"), Decimal("4.98"), Decimal("29.90"))


def test_german_consumer_pays_the_same_price_with_german_vat_inside_it():
    result = _compute("eu_oss", "FR", "DE")
    [line] = result.lines
    assert (result.treatment, line.rate) == ("oss", Decimal("19.00"))
    assert (line.net, line.tax, line.total) == (Decimal("25.13"), Decimal("4.77"), Decimal("29.90"))


def test_german_business_with_a_valid_vat_number_pays_the_net_price_reverse_charged():
    result = _compute("eu_oss", "FR", "DE", business=True)
    [line] = result.lines
    assert result.treatment == "reverse_charge"
    assert (line.unit_price, line.net, line.tax, line.total) == (
        Decimal("24.92"), Decimal("24.92"), Decimal("0"), Decimal("24.92"),
    )  # fmt: skip


def test_customer_outside_the_eu_pays_the_net_price_without_vat():
    result = _compute("eu_oss", "FR", "US")
    assert result.treatment == "outside_scope"
    assert (result.tax_total, result.total) == (Decimal("0"), Decimal("24.92"))


def test_saudi_national_regime_charges_15_percent_to_everyone():
    for buyer in ("SA", "FR", "US"):
        result = _compute("national", "SA", buyer, currency="SAR")
        [line] = result.lines
        assert (result.treatment, line.rate, line.tax, line.net) == (
            "national", Decimal("15.00"), Decimal("3.90"), Decimal("26.00"),
        )  # fmt: skip


def test_a_shop_without_a_regime_charges_the_price_and_no_tax():
    result = _compute("none", "", "DE")
    assert (result.treatment, result.tax_total, result.total) == ("none", 0, Decimal("29.90"))


def test_eu_oss_without_an_eu_shop_country_is_refused():
    with pytest.raises(TaxConfigurationError):
        _compute("eu_oss", "US", "FR")


def test_a_discount_is_taken_before_the_tax_and_shrinks_in_proportion_when_no_vat():
    line = TaxLineIn(key=1, unit_gross=Decimal("29.90"), quantity=2, discount=Decimal("5.98"))
    domestic = _compute("eu_oss", "FR", "FR", lines=[line])
    assert (domestic.subtotal, domestic.discount_total, domestic.total) == (
        Decimal("59.80"), Decimal("5.98"), Decimal("53.82"),
    )  # fmt: skip
    assert domestic.tax_total == Decimal("8.97")
    outside = _compute("eu_oss", "FR", "US", lines=[line])
    assert outside.subtotal == Decimal("49.84") and outside.total == Decimal("44.85")
    assert outside.discount_total == outside.subtotal - outside.total


def test_zero_decimal_currencies_round_to_whole_units():
    lines = [TaxLineIn(key=1, unit_gross=Decimal("3000"), quantity=1)]
    result = _compute("eu_oss", "FR", "DE", lines=lines, currency="JPY")
    [line] = result.lines
    assert line.tax == Decimal("479") and line.net == Decimal("2521")


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2)
basket = st.lists(
    st.tuples(amounts, st.integers(min_value=1, max_value=10), st.floats(0, 1.2)),
    min_size=1,
    max_size=8,
)
case = st.tuples(
    st.sampled_from([("eu_oss", "FR"), ("national", "SA"), ("none", "FR")]),
    st.sampled_from(["FR", "DE", "HU", "LU", "FI", "US", "SA", "JP"]),
    st.booleans(),
    st.sampled_from(["EUR", "JPY", "KWD", "SAR"]),
)


@settings(max_examples=300, deadline=None)
@given(basket=basket, case=case)
def test_for_any_basket_totals_are_the_sum_of_lines_and_every_line_adds_up(basket, case):
    (regime, shop), buyer, business, currency = case
    lines = [
        TaxLineIn(key=i, unit_gross=price, quantity=qty,
                  discount=(price * qty * Decimal(str(share))).quantize(Decimal("0.01")))
        for i, (price, qty, share) in enumerate(basket)
    ]  # fmt: skip
    result = _compute(regime, shop, buyer, business=business, lines=lines, currency=currency)
    for line in result.lines:
        assert line.net + line.tax == line.total
        assert line.subtotal - line.discount == line.total
        assert min(line.net, line.tax, line.total, line.discount) >= 0
        assert line.discount <= line.subtotal
    assert result.total == sum(line.total for line in result.lines)
    assert result.net_total == sum(line.net for line in result.lines)
    assert result.tax_total == sum(line.tax for line in result.lines)
    assert result.discount_total == sum(line.discount for line in result.lines)
    assert result.total == result.net_total + result.tax_total
    assert result.subtotal == result.total + result.discount_total
