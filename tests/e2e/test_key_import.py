"""Browser journey: staff import a supplier's key file in the admin. A file with a bad
line is refused whole, with the line named and the choices kept; the corrected file is
imported and the product is on sale for customers at once."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import admin_page
from tests.factories import ProductFactory, SupplierFactory, UserFactory, key_code_new

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_staff_import_a_key_file_and_the_product_goes_on_sale(browser, page, live_server, shop):
    from keys.models import Key

    shop("antimart")
    product = ProductFactory(name="Office 2021 Pro", slug="office-2021-pro")
    supplier = SupplierFactory(name="Acme Keys")
    page.goto(f"/products/{product.slug}/")
    expect(page.get_by_text("This product is out of stock right now.")).to_be_visible()

    codes = [key_code_new(product) for _ in range(3)]
    staff = UserFactory(email="stock@example.com", is_staff=True, is_superuser=True)
    admin = admin_page(browser=browser, base_url=live_server.url, user=staff)
    try:
        admin.goto("/admin/keys/key/import/")
        admin.get_by_label("Product:").select_option(str(product.pk))
        admin.get_by_label("Supplier (new batch):").select_option(str(supplier.pk))
        admin.get_by_label("Cost per key (new batch):").fill("4.50")
        bad = "\n".join([codes[0], codes[1], codes[0]]) + "\n"
        admin.get_by_label("Key file:").set_input_files(
            {"name": "acme.txt", "mimeType": "text/plain", "buffer": bad.encode()}
        )
        admin.get_by_role("button", name="Import").click()
        report = admin.locator("#report-title").locator("..")
        expect(report).to_contain_text("Nothing was imported from acme.txt: 1 bad line.")
        expect(report.get_by_role("row", name=re.compile("3 duplicate of line 1"))).to_be_visible()
        expect(admin.get_by_label("Product:")).to_have_value(str(product.pk))  # kept
        expect(admin.get_by_label("Cost per key (new batch):")).to_have_value("4.50")
        assert not Key.objects.exists()

        good = "\n".join(codes) + "\n"
        admin.get_by_label("Key file:").set_input_files(
            {"name": "acme.txt", "mimeType": "text/plain", "buffer": good.encode()}
        )
        admin.get_by_role("button", name="Import").click()
        expect(admin.get_by_text("Imported 3 keys from acme.txt.")).to_be_visible()
        expect(admin).to_have_url(re.compile(r"/admin/keys/keybatch/\d+/change/"))
    finally:
        admin.context.close()

    page.goto(f"/products/{product.slug}/")
    expect(page.get_by_role("button", name="Add to cart")).to_be_visible()
    assert Key.objects.filter(product=product, status="available").count() == 3
