"""Browser journeys over the customer pages on a phone (360 px) and a desktop (1366 px), in
English, French and Arabic: no page scrolls sideways, the page says its language and
direction, and axe-core finds no serious or critical accessibility violation.

axe-core comes from npm (``package.json`` at the repository root, ``npm ci``); without
``node_modules`` the journeys are skipped with that reason, unless REQUIRE_E2E is set
(CI), where they fail.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import page_in, signed_in
from tests.factories import (
    ProductFactory,
    UserFactory,
    claim_new,
    keys_create,
    order_delivered_new,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser_audit,
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {"phone": (360, 780), "desktop": (1366, 900)}
LANGUAGES = {"en": ("en-US", "ltr"), "fr": ("fr-FR", "ltr"), "ar": ("ar", "rtl")}
BLOCKING_IMPACTS = {"serious", "critical"}


def axe_path() -> Path:
    if not AXE.exists():
        reason = f"axe-core is not installed ({AXE} missing): run `npm ci` at the repository root"
        if os.environ.get("REQUIRE_E2E"):
            pytest.fail(reason)
        pytest.skip(reason)
    return AXE


def axe_violations(page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now."""
    page.add_script_tag(path=str(axe_path()))
    violations = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " + n.failureSummary),
            }));
        }"""
    )
    return [v for v in violations if v["impact"] in BLOCKING_IMPACTS]


def overflow(page) -> dict:
    """How wide the document is against the window, and what sticks out."""
    return page.evaluate(
        """() => {
            const width = window.innerWidth;
            const culprits = [];
            for (const el of document.querySelectorAll("body *")) {
                const box = el.getBoundingClientRect();
                if (box.width && (box.right > width + 1 || box.left < -1)
                    && getComputedStyle(el).position !== "absolute") {
                    culprits.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
                        + (el.className && typeof el.className === "string" ? "." + el.className.split(" ").join(".") : ""));
                }
            }
            return {scroll: document.documentElement.scrollWidth, window: width,
                    culprits: culprits.slice(0, 8)};
        }"""
    )


@pytest.fixture
def storefront(shop):
    """A shop with a product in stock and a signed-in customer who has bought twice and
    claimed on the first order. Returns the customer and the addresses to visit."""
    shop("novakeys")
    product = ProductFactory(name="Windows 11 Pro", slug="windows-11-pro", edition="11 Pro")
    keys_create(product=product, count=6)
    customer = UserFactory(email="grace@example.com")
    claimed = order_delivered_new(product=product, user=customer)
    claim_new(order=claimed, key=claimed.lines.first().keys.first(), user=customer)
    fresh = order_delivered_new(product=product, user=customer)
    pages = {
        "home": "/",
        "product": "/products/windows-11-pro/",
        "cart": "/cart/",
        "checkout": "/orders/checkout/",
        "order": f"/orders/o/{fresh.number}/",
        "account": "/account/",
        "claim-form": f"/claims/new/{fresh.number}/",
    }
    return customer, pages


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_customer_pages_fit_phones_and_desktops_and_pass_axe(
    browser, live_server, storefront, language
):
    axe_path()
    customer, pages = storefront
    locale, direction = LANGUAGES[language]
    page = page_in(browser=browser, base_url=live_server.url, locale=locale, bypass_csp=True)
    signed_in(page=page, base_url=live_server.url, user=customer)
    page.goto("/products/windows-11-pro/")
    page.locator("form[action$='/add/'] button[type=submit]").click()  # a cart to check out
    expect(page.locator(".header-cart .badge")).to_have_text("1")

    problems = []
    for device, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        for name, url in pages.items():
            response = page.goto(url)
            where = f"{name} at {width}px in {language}"
            assert response.status == 200, f"{where}: HTTP {response.status}"
            html = page.locator("html")
            expect(html).to_have_attribute("lang", language)
            expect(html).to_have_attribute("dir", direction)
            sizes = overflow(page)
            if sizes["scroll"] > sizes["window"]:
                problems.append(f"{where}: {sizes['scroll']}px wide, {sizes['culprits']}")
            for violation in axe_violations(page):
                problems.append(
                    f"{where}: axe {violation['impact']} {violation['id']} "
                    f"({violation['help']}): {violation['nodes']}"
                )
    page.context.close()
    assert not problems, "\n".join(problems)
