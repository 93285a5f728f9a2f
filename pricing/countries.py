"""Country names for the billing-country select, in the customer's language (CLDR, babel)."""

from __future__ import annotations

from functools import cache

from babel import Locale, UnknownLocaleError

# ISO 3166 alpha-2 codes CLDR lists that are not countries a card can be billed to.
NOT_COUNTRIES = {
    "EU",
    "EZ",
    "UN",
    "ZZ",
    "QO",
    "XA",
    "XB",
    "XK",
    "AC",
    "CP",
    "CQ",
    "DG",
    "EA",
    "IC",
    "TA",
}


@cache
def country_choices(*, language: str) -> tuple[tuple[str, str], ...]:
    """(code, name) for every country, sorted by name as ``language`` spells it."""
    try:
        locale = Locale.parse((language or "en").replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        locale = Locale.parse("en")
    names = {
        code: name
        for code, name in locale.territories.items()
        if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES
    }
    return tuple(sorted(names.items(), key=lambda item: item[1].casefold()))


def country_from_accept_language(*, header: str) -> str:
    """The region of the first language tag with one (``fr-FR,fr;q=0.9`` -> ``FR``)."""
    for part in (header or "").split(","):
        tag = part.split(";")[0].strip().replace("_", "-")
        pieces = tag.split("-")
        if len(pieces) >= 2 and len(pieces[-1]) == 2 and pieces[-1].isalpha():
            return pieces[-1].upper()
    return ""
