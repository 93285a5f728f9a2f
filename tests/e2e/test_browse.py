import pytest
from playwright.sync_api import expect

from tests.factories import CategoryFactory, ProductFactory, keys_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def catalog(db):
    os_cat = CategoryFactory(name="Operating systems", slug="operating-systems")
    gifts = CategoryFactory(name="Gift cards", slug="gift-cards")
    win = ProductFactory(
        category=os_cat,
        name="Windows 11 Pro",
        slug="windows-11-pro",
        compatibility_notes="Does not work on Mac computers.",
    )
    steam = ProductFactory(
        category=gifts,
        name="Steam Wallet 20 EUR",
        slug="steam-20",
        platform="steam",
        kind="gift_code",
        denomination="20.00",
    )
    return win, steam


def test_customer_browses_filters_searches_and_adds_to_cart(page, catalog):
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Windows 11 Pro")).to_be_visible()

    page.get_by_label("Platform").select_option("steam")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("link", name="Steam Wallet 20 EUR")).to_be_visible()
    expect(page.get_by_role("link", name="Windows 11 Pro")).to_have_count(0)

    page.goto("/")
    page.get_by_label("Search").fill("windows")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("link", name="Windows 11 Pro")).to_be_visible()
    expect(page.get_by_role("link", name="Steam Wallet 20 EUR")).to_have_count(0)

    page.get_by_role("link", name="Windows 11 Pro").click()
    expect(page.get_by_text("Does not work on Mac computers.")).to_be_visible()


def test_add_to_cart_shows_the_line_and_total(page, catalog):
    win, _steam = catalog
    keys_create(product=win, count=10)
    page.goto("/products/windows-11-pro/")
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url("/cart/")
    expect(page.locator("#cart-total")).to_contain_text("59.80")


def test_switching_to_arabic_lays_the_page_out_right_to_left(page, catalog):
    page.goto("/")
    page.get_by_label("Language").select_option("ar")
    page.get_by_role("button", name="Change").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "ar")
