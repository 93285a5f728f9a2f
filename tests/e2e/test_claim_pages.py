"""Browser journeys on the customer's claim pages: a guest claims from the link on their own
order page right after buying; a reason that does not apply to a delivered order is not
offered and is explained, in French and in Arabic (right to left)."""

import re

import pytest
from playwright.sync_api import expect

from refunds.models import Claim
from tests.e2e.conftest import checkout_pay, page_in, signed_in
from tests.factories import ProductFactory, UserFactory, keys_create, order_delivered_new

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def win(db):
    product = ProductFactory(name="Windows 11 Pro", slug="windows-11-pro")
    keys_create(product=product, count=3)
    return product


def test_a_guest_reports_a_problem_from_the_link_on_their_order_page(page, shop, win):
    shop("novakeys")
    checkout_pay(page=page, product_slug=win.slug, email="grace@example.com")
    expect(page.locator("[data-key]")).to_have_count(1)

    page.get_by_role("link", name=re.compile(r"Report a problem with order KS-")).click()
    expect(page.get_by_role("heading", name=re.compile("Report a problem"))).to_be_visible()
    page.get_by_label("Which key or product?").select_option(index=1)
    page.get_by_label("The key is reported as invalid").check()
    page.get_by_label("Describe the problem").fill("The store says the code is invalid.")
    page.get_by_role("button", name="Check what the policy says").click()
    preview = page.locator("#claim-preview")
    expect(preview).to_contain_text("What happens next")
    expect(page.locator("#preview-deadline")).to_contain_text("Asia/Riyadh time")
    expect(preview).not_to_contain_text("Staff must")
    page.get_by_role("button", name="Send the claim").click()
    expect(page.get_by_role("heading", name=re.compile(r"Claim CL-"))).to_be_visible()
    assert Claim.objects.get().guest_email == "grace@example.com"


@pytest.mark.parametrize(
    ("locale", "language", "direction", "label"),
    [("fr-FR", "fr", "ltr", "Vous avez changé d'avis"), ("ar", "ar", "rtl", "غيّرت رأيك")],
)
def test_a_reason_refused_for_a_delivered_order_is_explained_not_offered(
    browser, live_server, shop, win, locale, language, direction, label
):
    customer = UserFactory(email=f"{language}@example.com")
    order = order_delivered_new(product=win, user=customer)
    shop("allkeymasters")
    page = page_in(browser=browser, base_url=live_server.url, locale=locale)
    signed_in(page=page, base_url=live_server.url, user=customer)
    try:
        page.goto(f"/claims/new/{order.number}/")
        html = page.locator("html")
        expect(html).to_have_attribute("lang", language)
        expect(html).to_have_attribute("dir", direction)
        expect(page.locator('input[value="change_of_mind"]')).to_have_count(0)
        expect(page.locator('input[value="key_invalid"]')).to_have_count(1)
        page.locator("#reasons-not-offered summary").click()
        refused = page.locator('#reasons-not-offered li[data-reason="change_of_mind"]')
        expect(refused).to_contain_text(label)
        expect(refused).not_to_contain_text("The key has already been delivered")  # translated
        assert "(allkeymasters." not in page.content()
    finally:
        page.context.close()
