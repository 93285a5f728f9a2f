"""How customers read prices and mixed-direction text, in every language.

``{{ amount|money:currency }}`` formats a price for the active language (CLDR through
babel: ``€19.90`` in English, ``19,90 €`` in French); the text emails use it too, since
they render inside ``translation.override``. ``{{ value|bdi }}`` isolates a code, an
order number, a legal citation or a product name from the text around it, so Arabic
(right to left) never reorders its characters; it works inside ``blocktranslate`` too,
leaving the translated sentence unchanged. ``{{ text|bdi_codes }}`` does it inside a
sentence: on a right-to-left page every run of Latin letters and digits in the text (a
citation such as "L221-28 13°", a product name, an address) becomes its own isolate.
``{{ moment|shop_datetime }}`` and ``{{ moment|shop_date }}`` write a date the one way
customers read dates (``core.dates``), in the store's time zone.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, get_language_bidi

from core.dates import date_for_customer, datetime_for_customer
from core.fragments import fragment_get, fragment_key, fragment_set
from core.money import money_format

register = template.Library()


@register.filter
def money(amount, currency: str = "") -> str:
    if amount is None or amount == "":
        return ""
    try:
        Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    return money_format(
        amount=str(amount),
        currency=currency or settings.SHOP_CURRENCY,
        language=get_language() or settings.LANGUAGE_CODE,
    )


@register.filter
def bdi(value) -> str:
    if value is None or value == "":
        return ""
    return format_html("<bdi>{}</bdi>", value)


# A run of Latin words, codes and numbers ("L221-28 13°", "Windows 11 Pro", "a@b.fr"),
# ending on a letter, digit or degree sign so sentence punctuation stays outside.
_LATIN_TOKEN = r"[A-Za-z0-9](?:[A-Za-z0-9°./\-+@:_]*[A-Za-z0-9°])?"
LATIN_RUN = re.compile(rf"{_LATIN_TOKEN}(?:[ \u00a0]+{_LATIN_TOKEN})*")


def bdi_codes_html(text: str, *, rtl: bool) -> str:
    """``text`` escaped, with each Latin run isolated (``<bdi>``) when ``rtl``."""
    if not rtl:
        return escape(text)
    parts: list[str] = []
    end = 0
    for match in LATIN_RUN.finditer(text):
        parts.append(escape(text[end : match.start()]))
        parts.append(f"<bdi>{escape(match.group(0))}</bdi>")
        end = match.end()
    parts.append(escape(text[end:]))
    return "".join(parts)


@register.filter
def bdi_codes(value, language: str = "") -> str:
    """``{{ text|bdi_codes }}`` (the page's direction) or ``{{ text|bdi_codes:doc.language }}``
    (a text in its own language)."""
    if value is None or value == "":
        return ""
    rtl = language.split("-")[0] in settings.LANGUAGES_BIDI if language else get_language_bidi()
    return mark_safe(bdi_codes_html(str(value), rtl=rtl))  # noqa: S308 (escaped)


def _zone(time_zone: str) -> str:
    # Pages render on the store's clock (StoreTimeZoneMiddleware), emails inside
    # ``timezone.override(store zone)``: the active zone is the store's.
    return time_zone or timezone.get_current_timezone_name()


@register.filter
def shop_datetime(moment, time_zone: str = "") -> str:
    """ "6 March 2026 at 11:00, Europe/Paris time" in the customer's language."""
    if not moment:
        return ""
    return datetime_for_customer(moment=moment, time_zone=_zone(time_zone))


@register.filter
def shop_date(moment, time_zone: str = "") -> str:
    if not moment:
        return ""
    return date_for_customer(moment=moment, time_zone=_zone(time_zone))


# Marks standing for each consent's acceptance time in a consents record rendered once
# (letters and digits: HTML escaping and the bidi filters leave them as they are).
_CONSENT_MARK = "ksconsent" + uuid.uuid4().hex + "n{}x"


@dataclass(frozen=True)
class _ConsentShown:
    text: str
    legal_basis: str
    wording_version: str
    when: str


@register.simple_tag(takes_context=True)
def consents_record(context, template_name: str, consents) -> str:
    """What the buyer agreed to at checkout (``template_name``: ``emails/_consents.html``
    or ``.txt``), rendered once per language, store zone and wording (core.fragments);
    each email only puts in its own acceptance times, written as ``shop_datetime`` writes
    them (escaped in the HTML part)."""
    zone = _zone(context.get("SHOP_TIME_ZONE", ""))
    consents = list(consents)
    wording = tuple((c.text, c.legal_basis, c.wording_version) for c in consents)
    key = fragment_key("consents-record", template_name, zone, wording)
    record = fragment_get(key)
    if record is None:
        marked = [
            _ConsentShown(text=text, legal_basis=basis, wording_version=version,
                          when=_CONSENT_MARK.format(index))
            for index, (text, basis, version) in enumerate(wording)
        ]  # fmt: skip
        record = render_to_string(template_name, {"consents": marked})
        fragment_set(key, record, size=len(record))
    html = template_name.endswith(".html")
    for index, consent in enumerate(consents):
        when = datetime_for_customer(moment=consent.accepted_at, time_zone=zone)
        record = str(record).replace(_CONSENT_MARK.format(index), escape(when) if html else when)
    return mark_safe(record)  # noqa: S308 (rendered by the template, times escaped above)
