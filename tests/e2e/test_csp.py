"""The Content-Security-Policy breaks nothing: a real Chromium walks the shop (home,
product, cart, checkout, the test payment page, the order page with its htmx key reveal,
My Account, claims) and the admin (lists, an order, a claim with its evidence panel, a
dispute-free change form) and reports no CSP violation in the console."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import checkout_pay, csp_violations_watch, page_in, signed_in
from tests.factories import ProductFactory, UserFactory, claim_new, keys_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_shop_and_admin_pages_have_no_csp_violations(browser, page, live_server, shop):
    shop("novakeys")
    product = ProductFactory(name="Windows 11 Pro", slug="windows-11-pro")
    keys_create(product=product, count=3)
    customer = UserFactory(email="grace@example.com")
    violations = csp_violations_watch(page)
    signed_in(page=page, base_url=live_server.url, user=customer)

    page.goto("/")
    expect(page.get_by_role("link", name="Windows 11 Pro").first).to_be_visible()
    page.get_by_label("Language").select_option("ar")  # the plain GET form, right to left
    page.locator(".lang-switch button").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    page.locator("#language-select").select_option("en")
    page.locator(".lang-switch button").click()
    checkout_pay(page=page, product_slug=product.slug)  # cart, checkout, the test payment page
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
    admin = page_in(browser=browser, base_url=live_server.url)
    violations += csp_violations_watch(admin)
    signed_in(page=admin, base_url=live_server.url, user=staff, staff=True)
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
