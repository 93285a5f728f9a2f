"""The Content-Security-Policy breaks nothing: a real Chromium walks the shop (home,
product, cart, checkout, the test payment page, the order page with its htmx key reveal,
My Account, claims) and the admin (lists, an order, a claim with its evidence panel, a
dispute-free change form) and reports no CSP violation in the console."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import ProductFactory, UserFactory, claim_new, keys_create
from tests.staff import staff_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _shop(settings, live_server):
    settings.PAYMENT_GATEWAY = "test"
    settings.SITE_URL = live_server.url


def _watch_csp(page) -> list[str]:
    violations: list[str] = []

    def on_console(message):
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            violations.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: violations.append(f"{page.url}: {error}"))
    return violations


def _sign_in(page, live_server, user, *, staff=False):
    from django.test import Client

    client = Client()
    if staff:
        staff_login(client=client, user=user)
    else:
        client.force_login(user)
    cookie = client.cookies["sessionid"]
    page.context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])


def test_shop_and_admin_pages_have_no_csp_violations(browser, page, live_server):
    from policies.services import preset_load

    preset_load(slug="novakeys", activate=True)
    product = ProductFactory(name="Windows 11 Pro", slug="windows-11-pro")
    keys_create(product=product, count=3)
    customer = UserFactory(email="grace@example.com")
    violations = _watch_csp(page)
    _sign_in(page, live_server, customer)

    page.goto("/")
    expect(page.get_by_role("link", name="Windows 11 Pro").first).to_be_visible()
    page.get_by_label("Language").select_option("ar")  # the plain GET form, right to left
    page.locator(".lang-switch button").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    page.locator("#language-select").select_option("en")
    page.locator(".lang-switch button").click()
    page.goto("/products/windows-11-pro/")
    page.get_by_role("button", name="Add to cart").click()
    page.goto("/cart/")
    page.get_by_role("link", name="Checkout").click()
    page.get_by_label("Billing name").fill("Grace Hopper")
    page.get_by_label(re.compile("I have read and accept")).check()
    page.get_by_role("button", name="Continue to payment").click()
    expect(page.get_by_role("heading", name="Test payment")).to_be_visible()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name=re.compile("^Pay ")).click()
    expect(page.locator("[data-key]")).to_have_count(1)  # the order page
    order_url = page.url
    page.goto("/account/")
    page.goto("/claims/")
    reveal = page.get_by_role("button", name=re.compile("Show", re.I))
    if reveal.count():
        reveal.first.click()  # htmx swaps the revealed key in
    page.goto(order_url)

    from orders.models import Order

    order = Order.objects.get(email="grace@example.com")
    claim = claim_new(order=order, key=order.lines.first().keys.first(), user=customer)
    staff = UserFactory(email="boss@example.com", is_staff=True, is_superuser=True)
    admin = browser.new_context(base_url=live_server.url).new_page()
    violations += _watch_csp(admin)
    _sign_in(admin, live_server, staff, staff=True)
    for url in (
        "/admin/",
        "/admin/orders/order/",
        f"/admin/orders/order/{order.pk}/change/",
        "/admin/refunds/claim/",
        f"/admin/refunds/claim/{claim.pk}/change/",
        "/admin/keys/key/",
        "/admin/storefront/product/add/",
    ):
        response = admin.goto(url)
        assert response.status == 200, url
    admin.context.close()
    assert violations == []
