"""Browser journeys through checkout in French and in Arabic (right to left): the browser's
language is the only hint; every step reads in it (``checkout_pay`` finds each label by its
translation and fails on an English fallback), the key is on screen, and the key email is
written in it too."""

import pytest
from django.utils import translation
from playwright.sync_api import expect

from tests.e2e.conftest import checkout_pay, outbox_email, page_in, shot
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
            thanks = translation.gettext("Thank you for your order!")
            subject = translation.gettext("Your keys for order %(number)s") % {"number": number}
        assert delivered != "Delivered" and thanks != "Thank you for your order!"
        expect(page.get_by_role("heading", name=thanks)).to_be_visible()
        expect(page.locator("#order-status [data-status]")).to_have_text(delivered)
        expect(page.locator("[data-key]")).to_have_count(1)
        code = page.locator("[data-key]").inner_text().strip()
        shot(page, f"checkout-{language}")
    finally:
        page.context.close()
    email = outbox_email(to=f"{language}@example.com", subject=subject)
    assert code in email.body
