"""Browser journeys: guest orders join an account only through an address its owner has
verified. A guest buys, then signs up with the same email address, verifies it from the
email, and finds the guest order (and its key) in My Account; a customer who already has
an account sees their guest order there only once the new address is confirmed."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.e2e.conftest import checkout_pay, outbox_email, outbox_link, shot, signed_in
from tests.factories import ProductFactory, UserFactory, keys_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def win(db, shop):
    shop("antimart")
    product = ProductFactory(name="Windows 11 Pro", slug="windows-11-pro")
    keys_create(product=product, count=2)
    return product


def _guest_buys(*, page, product, email: str) -> tuple[str, str]:
    """A guest checkout, then a new visit (the order no longer in the browser's session).
    Returns the order number and the key shown on the order page."""
    number = checkout_pay(page=page, product_slug=product.slug, email=email)
    code = page.locator("[data-key]").inner_text().strip()
    page.context.clear_cookies()
    mail.outbox.clear()
    return number, code


def _order_in_my_account(page, number: str):
    return page.get_by_role("heading", name=re.compile(f"Order {number}"))


def test_signing_up_with_the_guest_email_shows_the_guest_order_once_verified(page, win):
    number, code = _guest_buys(page=page, product=win, email="sam@example.com")

    page.get_by_role("link", name="Create account").click()  # in the header of the order page
    page.get_by_label("Email").fill("Sam@Example.com")
    page.get_by_label("Password:").fill("a-long-unusual-pass-42")
    page.get_by_label("Password (again)").fill("a-long-unusual-pass-42")
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile("verify", re.I))
    page.goto("/account/")
    expect(page).to_have_url(re.compile("/accounts/login/"))  # not signed in before verifying

    message = outbox_email(to="sam@example.com")
    page.goto(outbox_link(message=message, path="/accounts/confirm-email/"))
    page.get_by_role("button", name="Confirm").click()

    page.goto("/account/")
    expect(_order_in_my_account(page, number)).to_be_visible()
    page.get_by_role("button", name="Show key").click()
    expect(page.get_by_text(code)).to_be_visible()
    shot(page, "signup-guest-order-linked")


def test_a_customer_sees_a_guest_order_only_once_its_address_is_confirmed(page, live_server, win):
    number, _code = _guest_buys(page=page, product=win, email="pat@home.example")
    customer = UserFactory(email="pat@work.example")
    signed_in(page=page, base_url=live_server.url, user=customer)

    page.goto("/accounts/email/")
    page.get_by_label("Change to").fill("pat@home.example")
    page.get_by_role("button", name="Change Email").click()
    expect(page.get_by_text("pat@home.example").first).to_be_visible()
    page.goto("/account/")
    expect(page.get_by_role("heading", name="My Account")).to_be_visible()
    expect(_order_in_my_account(page, number)).to_have_count(0)  # typed, not yet proven

    message = outbox_email(to="pat@home.example")
    page.goto(outbox_link(message=message, path="/accounts/confirm-email/"))
    page.get_by_role("button", name="Confirm").click()
    page.goto("/account/")
    expect(_order_in_my_account(page, number)).to_be_visible()
