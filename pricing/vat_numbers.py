"""EU VAT numbers: a format and check-digit test with python-stdnum (``stdnum.eu.vat``).

This is an offline check only (no VIES call): a well-formed number with a correct check
digit is accepted; whether it is currently registered is not asked. The shop keeps the
number on the order and the invoice, which is what the reverse charge needs on paper.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError

# VAT prefixes that are not the ISO 3166 code of the country.
VAT_PREFIX_BY_COUNTRY = {"GR": "EL"}


@dataclass(frozen=True)
class VatNumberCheck:
    number: str  # compact, with its country prefix ("" when none was given)
    valid: bool
    error: str = ""


def vat_prefix_for(*, country: str) -> str:
    code = (country or "").upper()
    return VAT_PREFIX_BY_COUNTRY.get(code, code)


def vat_number_check(*, number: str, country: str) -> VatNumberCheck:
    """Normalise ``number`` (spaces, dots, dashes, missing prefix) and check it belongs to
    the billing ``country`` and passes stdnum's format and check-digit test."""
    raw = (number or "").strip()
    if not raw:
        return VatNumberCheck(number="", valid=False)
    try:
        compact = eu_vat.compact(raw)
    except StdnumError:
        compact = "".join(ch for ch in raw.upper() if ch.isalnum())
    prefix = vat_prefix_for(country=country)
    if compact[:2].isdigit() and prefix:
        compact = prefix + compact
    if prefix and compact[:2] != prefix:
        return VatNumberCheck(
            number=compact,
            valid=False,
            error=str(
                _("This VAT number is not from your billing country (it should start with %s).")
                % prefix
            ),
        )
    if not eu_vat.is_valid(compact):
        return VatNumberCheck(
            number=compact,
            valid=False,
            error=str(
                _(
                    "This is not a valid EU VAT number (check the digits and the country "
                    "prefix), or leave it empty to buy as a consumer."
                )
            ),
        )
    return VatNumberCheck(number=compact, valid=True)
