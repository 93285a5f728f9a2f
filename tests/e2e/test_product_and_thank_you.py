"""Browser journey: search the catalog, open a product, choose the quantity with the
stepper, buy, and land on the thank-you with the keys in copy fields and the activation
steps; the three pages fit 360 px and 1366 px in English and Arabic. With E2E_SHOTS set,
saves screenshots of them under var/screenshots/catalog/ for a human to look at (off by
default: waiting for every image costs seconds of the suite's budget)."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import checkout_pay, page_in
from tests.factories import CategoryFactory, ProductFactory, keys_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "catalog"
SHOTS = bool(os.environ.get("E2E_SHOTS"))


@pytest.fixture
def catalog(shop):
    from web.demo_images import demo_seed

    shop("allkeymasters")
    systems = CategoryFactory(name="Operating systems", slug="operating-systems")
    gifts = CategoryFactory(name="Gift cards", slug="gift-cards", position=2)
    win = ProductFactory(
        category=systems,
        name="Windows 11 Pro",
        slug="windows-11-pro",
        edition="11 Pro",
        description="Retail licence for one PC.",
        system_requirements="Processor: 1 GHz, 64-bit\nMemory: 4 GB\nTPM 2.0",
    )
    ProductFactory(
        category=systems,
        name="Office 2021 Professional Plus",
        slug="office-2021",
        edition="2021",
        description="Runs on Windows 11 Pro and Windows 10.",
    )
    ProductFactory(
        category=gifts, name="Steam Wallet 20 EUR", slug="steam-20", platform="steam",
        kind="gift_code", region="EU",
    )  # fmt: skip
    keys_create(product=win, count=6)
    demo_seed(stdout=open("/dev/null", "w"))  # noqa: SIM115 - box art for every product
    return win


def _no_sideways_scroll(page) -> None:
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    ), f"horizontal overflow on {page.url}"


def test_search_open_choose_quantity_buy_and_see_the_keys_with_activation_steps(
    page, live_server, catalog
):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/")
    page.get_by_role("searchbox", name="Search").fill("windows")
    page.get_by_role("button", name="Apply").click()
    cards = page.locator(".product-card-title")
    expect(cards.first).to_have_text("Windows 11 Pro")  # the name match ranks first
    expect(page.locator(".product-card").first.locator("img")).to_have_attribute(
        "srcset", re.compile(r"-320\.webp 320w")
    )
    cards.first.get_by_role("link").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Windows 11 Pro")
    expect(page.locator("#delivery-promise")).to_contain_text("Delivered in seconds")
    expect(page.locator("#activation .steps li")).to_have_count(4)
    quantity = page.get_by_label("Quantity")
    page.get_by_role("button", name="One more").click()
    expect(quantity).to_have_value("2")
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(re.compile("/cart/$"))

    number = checkout_pay(page=page, product_slug="windows-11-pro", email="grace@example.com")
    assert number
    expect(page.get_by_role("heading", name="Thank you for your order!")).to_be_visible()
    expect(page.locator("#thank-you")).to_contain_text("grace@example.com")
    keys = page.locator(".copy-field [data-key]")
    expect(keys).to_have_count(3)  # two from the stepper, one more from checkout_pay
    expect(page.locator(".delivered-key .steps li").first).to_contain_text("Open Settings")
    first = keys.first.inner_text().strip()
    page.locator(".copy-field").first.get_by_role("button", name=re.compile("^Copy")).click()
    expect(page.locator("[data-copy-status]")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == first
    expect(page.get_by_role("link", name=re.compile("Report a problem"))).to_be_visible()
    order_path = page.url.split(live_server.url, 1)[1]

    # the three pages fit a phone and a desktop, in English and in Arabic (right to left)
    look = page_in(browser=page.context.browser, base_url=live_server.url)
    look.context.add_cookies(page.context.cookies())  # the buyer's session: the order page opens
    for width in (360, 1366):
        look.set_viewport_size({"width": width, "height": 900})
        for language in ("en", "ar"):
            for name, path in (
                ("catalog", "/"),
                ("product", "/products/windows-11-pro/"),
                ("thank-you", order_path),
            ):
                look.goto(f"{path}?lang={language}")
                expect(look.locator("html")).to_have_attribute("lang", language)
                _no_sideways_scroll(look)
                if SHOTS:
                    _screenshot(look, SCREENSHOTS / f"{name}-{language}-{width}.png")
    look.context.close()


def _screenshot(page, path: Path) -> None:
    """A full-page screenshot once every box-art image has loaded (lazy ones too)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("networkidle")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # lazy images
    page.wait_for_function(
        "Array.from(document.querySelectorAll('img.product-img'))"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=True)
