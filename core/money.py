"""Money: the one place amounts meet their currency's precision.

A currency's number of decimal places comes from the Unicode CLDR through babel
(``babel.numbers.get_currency_precision``), as Saleor does: 2 for EUR or USD, 0 for JPY or
KRW, 3 for KWD. Gateways (Stripe) speak in minor units (cents, or whole yen for a
zero-decimal currency); everything else speaks in ``Decimal`` major units. Convert only
through these functions: a hand-written ``* 100`` or ``/ 100`` is wrong for every currency
whose precision is not 2.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision


def currency_precision(*, currency: str) -> int:
    """Decimal places of ``currency`` (ISO 4217 code, any case); 2 for an unknown code."""
    return int(get_currency_precision((currency or "").upper()))


def money_quantize(*, amount: Decimal | int | str, currency: str) -> Decimal:
    """``amount`` rounded (half up) to the precision of ``currency``."""
    exponent = Decimal(1).scaleb(-currency_precision(currency=currency))
    return Decimal(amount).quantize(exponent, rounding=ROUND_HALF_UP)


def money_to_minor_units(*, amount: Decimal | int | str, currency: str) -> int:
    """``amount`` in the currency's minor unit: 29.90 EUR -> 2990, 3000 JPY -> 3000."""
    precision = currency_precision(currency=currency)
    return int(money_quantize(amount=amount, currency=currency).scaleb(precision))


def money_from_minor_units(*, minor: int | str | None, currency: str) -> Decimal:
    """A gateway's minor-unit integer as a ``Decimal``: 2990 EUR -> 29.90, 3000 JPY -> 3000.

    ``None`` (a field the gateway left out) is zero; anything that is not a whole number
    raises ``ValueError``.
    """
    if minor is None:
        minor = 0
    if isinstance(minor, bool) or not isinstance(minor, int | str):
        raise ValueError(f"not an amount in minor units: {minor!r}")
    value = Decimal(int(minor))
    return money_quantize(
        amount=value.scaleb(-currency_precision(currency=currency)), currency=currency
    )


def money_format(*, amount: Decimal | int | str, currency: str, language: str) -> str:
    """``amount`` as a customer of ``language`` reads it (CLDR through babel): 29.90 EUR is
    ``€29.90`` in English, ``29,90 €`` in French, ``‏29.90 €`` in Arabic."""
    return _money_format(amount, currency, language)


@lru_cache(maxsize=4096)
def _money_format(amount: Decimal | int | str, currency: str, language: str) -> str:
    """money_format, remembered: a pure function of its arguments (equal amounts give the
    same text), and a page lists the same few prices many times (babel's parsing and
    formatting cost a quarter of a millisecond each)."""
    try:
        locale = Locale.parse((language or "en").replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        locale = Locale.parse("en")
    code = (currency or "").upper()
    return format_currency(money_quantize(amount=amount, currency=code), code, locale=locale)
