"""No English left: a customer reading French or Arabic walks home, a product page, the
cart, checkout, the order page, My Account and the claim form, and every page's visible
text (``document.body.innerText``) is checked against the translation catalog:

- an English source string whose translation exists must not be seen (a template or a
  view did not translate it);
- an English source string with no translation yet must not be seen either (a missing
  translation: the catalog needs it before release);

and the catalog content (category and product names) is the French or Arabic one.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import expect

from tests.e2e.conftest import checkout_pay, page_in, signed_in

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser_audit,
    pytest.mark.django_db(transaction=True),
]

LOCALE_DIR = Path(__file__).resolve().parents[2] / "locale"
MIN_WORDS = 4  # shorter strings ("OK", "Order", "Total") are too often legitimately shared
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sd]|\{\{[^}]*\}\}|\{\w*\}")


@dataclass(frozen=True)
class CatalogStrings:
    translated: frozenset[str]  # English fragments whose translation differs
    untranslated: frozenset[str]  # English fragments with no translation yet


def _fragments(msgid: str) -> list[str]:
    """The literal runs of a message (placeholders split it) long enough to search for."""
    parts = (" ".join(p.split()).strip(" .,:;()·-") for p in PLACEHOLDER.split(msgid))
    return [p for p in parts if len(p.split()) >= MIN_WORDS]


@functools.cache
def catalog_strings(language: str) -> CatalogStrings:
    path = LOCALE_DIR / language / "LC_MESSAGES" / "django.po"
    with path.open("rb") as handle:
        catalog = read_po(handle)
    translated, untranslated = set(), set()
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        done = any(strings)
        for msgid in ids:
            if done and msgid in strings:
                continue  # the same in both languages (a brand, a code): not English left
            (translated if done else untranslated).update(_fragments(msgid))
    return CatalogStrings(frozenset(translated), frozenset(untranslated))


def english_left(*, text: str, language: str) -> tuple[list[str], list[str]]:
    """(translated English strings seen, untranslated English strings seen) in ``text``."""
    seen = " ".join(text.split())
    strings = catalog_strings(language)
    return (
        sorted(s for s in strings.translated if s in seen),
        sorted(s for s in strings.untranslated if s in seen),
    )


def test_the_catalog_reader_finds_translated_and_untranslated_strings():
    strings = catalog_strings("fr")
    assert "This order is cancelled" in strings.translated
    assert all(len(s.split()) >= MIN_WORDS for s in strings.translated | strings.untranslated)
    assert _fragments("Thank you for your order %(number)s. Your payment is confirmed.") == [
        "Thank you for your order",
        "Your payment is confirmed",
    ]
    assert _fragments("Pay %(total)s") == []


def _demo_catalog():
    """Part of the demo catalog, with its French and Arabic texts (web/demo.py)."""
    from catalog.models import Category, Product
    from tests.factories import keys_create
    from web.demo import CATEGORIES, PRODUCTS, category_defaults, product_defaults

    categories = {
        slug: Category.objects.create(
            slug=slug, **category_defaults(slug, name=name, position=position)
        )
        for slug, name, position in CATEGORIES
    }
    products = {}
    for spec in PRODUCTS:
        if spec["sku"] in ("WIN11-PRO", "OFF21-PP", "STEAM-20"):
            products[spec["sku"]] = Product.objects.create(
                sku=spec["sku"], **product_defaults(spec, category=categories[spec["category"]])
            )
    keys_create(product=products["WIN11-PRO"], count=2)
    return categories, products


def _visible_text(page) -> str:
    return page.evaluate("document.body.innerText")


@pytest.mark.parametrize(("locale", "language"), [("fr-FR", "fr"), ("ar", "ar")])
def test_no_english_is_left_on_a_customers_journey(browser, live_server, shop, locale, language):
    from tests.factories import UserFactory

    shop("allkeymasters")
    categories, products = _demo_catalog()
    win = products["WIN11-PRO"]
    user = UserFactory(email=f"{language}@example.com", preferred_language=language)
    page = page_in(browser=browser, base_url=live_server.url, locale=locale)
    page.context.set_default_timeout(45_000)  # seven pages on a shared two-core machine
    seen: dict[str, str] = {}
    try:
        signed_in(page=page, base_url=live_server.url, user=user)
        page.goto("/")
        expect(page.locator("html")).to_have_attribute("lang", language)
        seen["home"] = _visible_text(page)

        def page_read(name: str) -> None:
            if name == "order":
                expect(page.locator("[data-key]")).to_have_count(1)
            seen[name] = _visible_text(page)

        number = checkout_pay(
            page=page, product_slug=win.slug, language=language, on_page=page_read
        )
        page.goto("/account/")
        seen["my account"] = _visible_text(page)
        page.goto(f"/claims/new/{number}/")
        expect(page.locator("form")).not_to_have_count(0)
        seen["claim form"] = _visible_text(page)
    finally:
        page.context.close()

    problems = []
    for name, text in seen.items():
        not_translated, missing = english_left(text=text, language=language)
        if not_translated:
            problems.append(f"{name}: English shown though translated: {not_translated}")
        if missing:
            problems.append(f"{name}: English with no {language} translation yet: {missing}")
    assert not problems, "\n".join(problems)

    # the catalog content is the customer's language, never the English source
    from django.utils.translation import override

    with override(language):
        category_name = categories["operating-systems"].name
        product_name = win.name
        office_name = products["OFF21-PP"].name
    for name in ("home", "product", "cart", "order"):
        assert product_name in seen[name], (name, product_name)
    assert category_name in seen["home"], category_name
    assert office_name in seen["home"], office_name
    for english in ("Operating systems", "Office 2021 Professional Plus", "Retail licence"):
        for name, text in seen.items():
            assert english not in text, (name, english)
