"""Browser journeys through checkout in French and in Arabic (right to left): every step
reads in the customer's language, and the key email is written in it too."""

import pytest
from django.core import mail
from django.utils import translation
from playwright.sync_api import expect

from tests.e2e.conftest import checkout_pay, page_in
from tests.factories import ProductFactory, keys_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("locale", "language", "direction"), [("fr-FR", "fr", "ltr"), ("ar", "ar", "rtl")]
)
def test_a_guest_checks_out_in_their_language(
    browser, live_server, shop, locale, language, direction
):
    shop("antimart")
    product = ProductFactory(name="Windows 11 Pro", slug="windows-11-pro")
    keys_create(product=product, count=2)
    page = page_in(browser=browser, base_url=live_server.url, locale=locale)
    try:
        number = checkout_pay(
            page=page, product_slug=product.slug, email=f"{language}@example.com", language=language
        )
        html = page.locator("html")
        expect(html).to_have_attribute("lang", language)
        expect(html).to_have_attribute("dir", direction)
        with translation.override(language):
            delivered = translation.gettext("Delivered")
            subject = translation.gettext("Your keys for order %(number)s") % {"number": number}
        assert delivered != "Delivered"
        expect(page.locator("#order-status [data-status]")).to_have_text(delivered)
        expect(page.locator("[data-key]")).to_have_count(1)
    finally:
        page.context.close()
    [email] = [m for m in mail.outbox if m.to == [f"{language}@example.com"]]
    assert email.subject.endswith(subject)
