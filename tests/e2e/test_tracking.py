"""Browser journeys on a guest's order after checkout: finding it again on the tracking page
from another browser, and cancelling an order still under the security check where the
shop's policy allows it."""

import re

import pytest
from playwright.sync_api import expect

from orders.models import Order
from tests.e2e.conftest import HELD_CARD, checkout_pay, outbox_email, page_in, shot
from tests.factories import ProductFactory, keys_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def win(db):
    product = ProductFactory(name="Windows 11 Pro", slug="windows-11-pro")
    keys_create(product=product, count=3)
    return product


def test_a_guest_finds_the_order_again_on_the_tracking_page_from_another_browser(
    browser, page, live_server, shop, win
):
    shop("antimart")
    number = checkout_pay(page=page, product_slug=win.slug, email="grace@example.com")
    code = page.locator("[data-key]").inner_text().strip()

    other = page_in(browser=browser, base_url=live_server.url)
    try:
        other.goto(f"/orders/o/{number}/")
        expect(other.locator("[data-key]")).to_have_count(0)  # no session, no order
        other.get_by_role("contentinfo").get_by_role("link", name="Order tracking").click()
        expect(other.get_by_role("heading", name="Track an order")).to_be_visible()
        not_found = "We could not find an order with this number and email address."
        for typed_number, typed_email in (
            (number, "someone@example.com"),  # the right order, another email
            ("KS-ZZZZZZZZ", "grace@example.com"),  # no such order: the same words
        ):
            other.get_by_label("Order number").fill(typed_number)
            other.get_by_label("Billing email").fill(typed_email)
            other.get_by_role("button", name="Find my order").click()
            expect(other.get_by_role("alert")).to_have_text(not_found)
            expect(other.locator("[data-key]")).to_have_count(0)
        shot(other, "tracking-not-found")
        other.get_by_label("Order number").fill(number.lower())
        other.get_by_label("Billing email").fill(" Grace@Example.com ")
        other.get_by_role("button", name="Find my order").click()
        expect(other.get_by_role("heading", level=1)).to_contain_text(number)
        expect(other.locator("[data-key]")).to_have_text(code)
        shot(other, "tracking-found")
        other.goto(f"/orders/o/{number}/")  # the access is remembered in this browser
        expect(other.locator("[data-key]")).to_have_text(code)
    finally:
        other.context.close()


def test_a_customer_cancels_an_order_held_for_the_security_check_and_is_refunded(page, shop, win):
    shop("antimart")  # "cancellations": allowed until the key is delivered
    number = checkout_pay(
        page=page, product_slug=win.slug, card=HELD_CARD, email="held@example.com"
    )
    expect(page.locator("#security-check")).to_be_visible()
    page.get_by_role("button", name="Cancel this order and get a full refund").click()
    status = page.locator("#order-status")
    expect(status).to_contain_text("This order is cancelled.")
    expect(status).to_contain_text("The full amount is refunded to your payment method.")
    expect(page.get_by_role("button", name=re.compile("Cancel this order"))).to_have_count(0)
    expect(page.locator("[data-key]")).to_have_count(0)
    shot(page, "cancelled")
    order = Order.objects.get(number=number)
    assert order.status == "cancelled" and order.refunds.get().amount == order.total
    email = outbox_email(to="held@example.com", subject=f"Order {number} is cancelled")
    assert f"The full amount of €{order.total} is refunded" in email.body


def test_a_shop_that_refuses_cancellation_explains_why_and_keeps_the_order(page, shop, win):
    shop("microprokey")  # "cancellation": not once paid, even before delivery
    number = checkout_pay(page=page, product_slug=win.slug, card=HELD_CARD, email="h@example.com")
    page.get_by_role("button", name="Cancel this order and get a full refund").click()
    refused = page.locator("#cancel-refused")
    expect(refused).to_contain_text("Your order could not be cancelled under the shop's policy.")
    expect(refused.get_by_role("link", name="Read the policy clause")).to_have_attribute(
        "href", re.compile("cancellation")
    )
    expect(page.locator("#security-check")).to_be_visible()
    assert Order.objects.get(number=number).status == "on_hold"
