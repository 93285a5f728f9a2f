"""core.money: one conversion between amounts and a gateway's minor units, with each
currency's own precision (CLDR through babel), zero-decimal currencies included."""

from decimal import Decimal

import pytest

from core.money import (
    currency_precision,
    money_from_minor_units,
    money_quantize,
    money_to_minor_units,
)


@pytest.mark.parametrize(
    "currency, precision", [("EUR", 2), ("usd", 2), ("JPY", 0), ("krw", 0), ("KWD", 3)]
)
def test_currency_precision_comes_from_cldr(currency, precision):
    assert currency_precision(currency=currency) == precision


def test_two_decimal_currencies_convert_to_cents_and_back():
    assert money_to_minor_units(amount=Decimal("29.90"), currency="EUR") == 2990
    assert money_from_minor_units(minor=2990, currency="eur") == Decimal("29.90")


def test_zero_decimal_currencies_are_never_divided_or_multiplied_by_100():
    assert money_to_minor_units(amount=Decimal("3000"), currency="JPY") == 3000
    assert money_from_minor_units(minor=3000, currency="jpy") == Decimal("3000")
    assert money_from_minor_units(minor="4500", currency="KRW") == Decimal("4500")


def test_three_decimal_currencies_use_three_places():
    assert money_to_minor_units(amount=Decimal("1.250"), currency="KWD") == 1250
    assert money_from_minor_units(minor=1250, currency="KWD") == Decimal("1.250")


def test_quantize_rounds_half_up_to_the_currency_precision():
    assert money_quantize(amount=Decimal("10.005"), currency="EUR") == Decimal("10.01")
    assert money_quantize(amount=Decimal("2999.5"), currency="JPY") == Decimal("3000")
    assert money_to_minor_units(amount=Decimal("0.015"), currency="EUR") == 2


@pytest.mark.parametrize("bad", [1.5, "12.5", "abc", True, [1]])
def test_a_minor_amount_that_is_not_a_whole_number_is_refused(bad):
    with pytest.raises(ValueError):
        money_from_minor_units(minor=bad, currency="EUR")


def test_a_missing_minor_amount_is_zero():
    assert money_from_minor_units(minor=None, currency="EUR") == Decimal("0.00")
