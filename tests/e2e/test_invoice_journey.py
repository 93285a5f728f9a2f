"""A customer buys with a coupon, pays on the test gateway and downloads the invoice from
the order page: the PDF names the coupon, the buyer's country, the VAT rate of that country
and the amounts charged."""

import io
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from invoices.models import Invoice
from tests.e2e.conftest import TEST_CARD, order_number_on
from tests.factories import ProductFactory, keys_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def french_shop(shop):
    from core.identity import shop_identity_update
    from pricing.models import Coupon

    shop("antimart")
    shop_identity_update(
        name="AllKeyMasters", legal_name="AllKeyMasters SAS", address_line1="12 rue de la Paix",
        postcode="75002", city="Paris", country="FR", support_email="support@akm.example",
        vat_number="FR40303265045", company_number="RCS Paris 303 265 045",
        invoice_prefix="AKM-", tax_regime="eu_oss",
    )  # fmt: skip
    Coupon.objects.create(code="WINTER10", kind="percent", value=10)
    product = ProductFactory(name="Windows 11 Pro", slug="windows-11-pro", price=Decimal("29.90"))
    keys_create(product=product, count=2)
    return product


def test_buy_with_a_coupon_and_download_the_invoice_from_the_order_page(page, french_shop):
    page.goto("/products/windows-11-pro/")
    page.get_by_role("button", name="Add to cart").click()
    page.goto("/cart/")
    page.get_by_role("textbox", name="Discount code").fill("WINTER10")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#cart-discount")).to_contain_text("2.99")
    page.get_by_role("link", name="Checkout", exact=True).click()
    page.get_by_label("Billing name").fill("Jonas Becker")
    page.get_by_role("textbox", name=re.compile("^Email address")).fill("jonas@example.de")
    page.get_by_label("Billing country").select_option("DE")
    required = page.locator('.consent input[type="checkbox"][aria-required="true"]')
    for index in range(required.count()):
        required.nth(index).check()
    page.get_by_role("button", name="Continue to payment").click()
    # the country changed the price: the checkout shows the new total before payment
    expect(page.get_by_text("The price depends on your country")).to_be_visible()
    expect(page.get_by_text("VAT 19%")).to_be_visible()
    page.get_by_role("button", name="Continue to payment").click()
    page.get_by_label("Card number").fill(TEST_CARD)
    page.get_by_role("button", name=re.compile("^Pay")).click()
    number = order_number_on(page)

    invoice = Invoice.objects.get(order__number=number)
    link = page.get_by_role("link", name=re.compile(re.escape(invoice.display_number)))
    expect(link).to_be_visible()
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == f"{invoice.display_number}.pdf"
    with open(download.path(), "rb") as handle:
        data = handle.read()
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    for expected in (invoice.display_number, "AllKeyMasters SAS", "VAT number: FR40303265045",
                     "Jonas Becker", "Germany (DE)", "Discount (coupon WINTER10)", "-2.99",
                     "19 %", "Total VAT", "4.30", "Total paid (EUR)", "26.91"):  # fmt: skip
        assert expected in text, expected
