"""Browser journeys through checkout, the test gateway, My Account and a staff hold release."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.e2e.conftest import HELD_CARD, admin_page, checkout_pay, outbox_email, signed_in
from tests.factories import ProductFactory, UserFactory, keys_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def win(db, shop):
    shop("antimart")  # a shop sells only under a policy
    product = ProductFactory(
        name="Windows 11 Pro",
        slug="windows-11-pro",
        activation_instructions="Settings > System > Activation.",
    )
    keys_create(product=product, count=3)
    return product


def test_guest_buys_and_sees_the_key_on_screen_and_by_email(page, win):
    checkout_pay(page=page, product_slug=win.slug, email="grace@example.com")
    key = page.locator("[data-key]")
    expect(key).to_have_count(1)
    code = key.inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9-]{10,}", code)
    message = outbox_email(to="grace@example.com", subject="Your keys for order")
    assert code in message.body


def test_signed_in_customer_finds_the_key_in_my_account(page, live_server, win):
    user = UserFactory(email="linus@example.com")
    signed_in(page=page, base_url=live_server.url, user=user)
    checkout_pay(page=page, product_slug=win.slug)
    code = page.locator("[data-key]").inner_text().strip()

    page.goto("/account/")
    expect(page.get_by_role("heading", name=re.compile("Order KS-"))).to_be_visible()
    expect(page.get_by_text(code)).to_have_count(0)  # masked until revealed
    page.get_by_role("button", name="Show key").click()
    expect(page.get_by_text(code)).to_be_visible()


def test_held_order_shows_the_security_check_and_is_delivered_after_staff_release(
    browser, page, live_server, win
):
    page.clock.install()  # the customer's clock: below, ten seconds pass without a wait
    number = checkout_pay(
        page=page, product_slug=win.slug, card=HELD_CARD, email="held@example.com"
    )
    expect(page.locator("#security-check")).to_contain_text("Security check in progress")
    expect(page.locator("[data-key]")).to_have_count(0)

    staff = UserFactory(email="boss@example.com", is_staff=True, is_superuser=True)
    admin = admin_page(browser=browser, base_url=live_server.url, user=staff)
    admin.goto("/admin/orders/order/")
    admin.get_by_role("row", name=re.compile(number)).get_by_role("checkbox").check()
    admin.get_by_label("Action:").select_option(label="Release the security hold (deliver now)")
    admin.get_by_role("button", name="Go").click()
    expect(admin.get_by_text("Released 1 order(s)")).to_be_visible()
    admin.context.close()

    # the customer's page refreshes itself (htmx polls a held order every 10 s): the key shows
    expect(page.locator("[data-key]")).to_have_count(0)
    page.clock.run_for(10_000)
    expect(page.locator("[data-key]")).to_have_count(1)
    assert [m for m in mail.outbox if number in m.subject and "Your keys" in m.subject]
