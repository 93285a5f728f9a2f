"""Browser journey: a guest buys, then signs up with the same email address, verifies it
from the email, and finds the guest order (and its key) in My Account."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.e2e.conftest import checkout_pay
from tests.factories import ProductFactory, keys_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_signing_up_with_the_guest_email_shows_the_guest_order_once_verified(page, shop):
    shop("antimart")
    product = ProductFactory(name="Windows 11 Pro", slug="windows-11-pro")
    keys_create(product=product, count=2)
    number = checkout_pay(page=page, product_slug=product.slug, email="sam@example.com")
    code = page.locator("[data-key]").inner_text().strip()
    page.context.clear_cookies()  # a new visit: the order is no longer in the session

    mail.outbox.clear()
    page.goto("/accounts/signup/")
    page.locator('input[name="email"]').fill("Sam@Example.com")
    page.locator('input[name="password1"]').fill("a-long-unusual-pass-42")
    page.locator('input[name="password2"]').fill("a-long-unusual-pass-42")
    page.locator('input[name="password2"]').press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile("verify", re.I))
    page.goto("/account/")
    expect(page.get_by_text(number)).to_have_count(0)  # not signed in before verifying

    [message] = [m for m in mail.outbox if m.to == ["sam@example.com"]]
    link = re.search(r"https?://\S+(/accounts/confirm-email/\S+/)", message.body)[1]
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()

    page.goto("/account/")
    expect(page.get_by_role("heading", name=re.compile(f"Order {number}"))).to_be_visible()
    page.get_by_role("button", name="Show key").click()
    expect(page.get_by_text(code)).to_be_visible()
