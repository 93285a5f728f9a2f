"""A real Chromium reads the product page's JSON-LD without any Content-Security-Policy
report (a data block never executes, so script-src does not apply), in English and
Arabic, and keeps screenshots of both under var/screenshots/ for a human to look at."""

import json
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import csp_violations_watch
from tests.factories import ProductFactory, keys_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_product_page_json_ld_and_head_raise_no_csp_violation_in_english_and_arabic(page, shop):
    product = ProductFactory(
        name="Windows 11 Pro",
        slug="windows-11-pro",
        price=Decimal("29.90"),
        region="Global",
        description="Genuine retail key for one PC.",
    )
    keys_create(product=product, count=3)
    violations = csp_violations_watch(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for language, price in (("en", "€29.90"), ("ar", "\u200f29.90\xa0€")):
        page.goto(f"/products/windows-11-pro/?lang={language}")
        expect(page.locator("html")).to_have_attribute("lang", language)
        data = json.loads(page.locator('script[type="application/ld+json"]').text_content())
        assert data["@type"] == "Product"
        assert data["offers"]["price"] == "29.90"
        assert data["offers"]["availability"] == "https://schema.org/InStock"
        expect(page.locator(".price bdi")).to_have_text(price)
        for width, name in ((1366, "desktop"), (360, "phone")):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(
                path=str(SCREENSHOTS / f"product-{language}-{name}.png"), full_page=True
            )
    assert page.request.get("/favicon.ico").status == 200
    assert violations == []
