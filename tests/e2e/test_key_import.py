"""Browser journey: staff import a supplier's key file in the admin. A file with a bad
line is refused whole, with the line named and the choices kept; the corrected file, a
CSV whose codes are in a ``code`` column, is imported: the admin's product list shows the
new stock and customers can buy the product at once."""

import re

import pytest
from playwright.sync_api import expect

from keys.models import Key
from tests.e2e.conftest import admin_page, shot
from tests.factories import ProductFactory, SupplierFactory, UserFactory, key_code_new

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _key_file_choose(*, admin, name: str, text: str) -> None:
    mime = "text/csv" if name.endswith(".csv") else "text/plain"
    admin.get_by_label("Key file:").set_input_files(
        {"name": name, "mimeType": mime, "buffer": text.encode()}
    )


def test_staff_import_a_csv_key_file_and_the_stock_shows_in_the_admin_and_the_shop(
    browser, page, live_server, shop
):
    shop("antimart")
    product = ProductFactory(name="Office 2021 Pro", slug="office-2021-pro")
    supplier = SupplierFactory(name="Acme Keys")
    page.goto(f"/products/{product.slug}/")
    expect(page.locator("#stock-status")).to_have_text("Out of stock")
    expect(page.get_by_role("button", name="Add to cart")).to_have_count(0)

    codes = [key_code_new(product) for _ in range(3)]
    staff = UserFactory(email="stock@example.com", is_staff=True, is_superuser=True)
    admin = admin_page(browser=browser, base_url=live_server.url, user=staff)
    try:
        admin.goto("/admin/keys/key/")
        admin.get_by_role("link", name="Import keys").click()
        admin.get_by_label("Product:").select_option(str(product.pk))
        admin.get_by_label("Supplier (new batch):").select_option(str(supplier.pk))
        admin.get_by_label("Cost per key (new batch):").fill("4.50")
        _key_file_choose(admin=admin, name="acme.txt", text=f"{codes[0]}\n{codes[1]}\n{codes[0]}\n")
        admin.get_by_role("button", name="Import").click()
        report = admin.locator("#report-title").locator("..")
        expect(report).to_contain_text("Nothing was imported from acme.txt: 1 bad line.")
        expect(report.get_by_role("row", name=re.compile("3 duplicate of line 1"))).to_be_visible()
        expect(admin.get_by_label("Product:")).to_have_value(str(product.pk))  # kept
        expect(admin.get_by_label("Cost per key (new batch):")).to_have_value("4.50")
        assert not Key.objects.exists()

        # the supplier's corrected file, as CSV: a header, the code in its second column
        rows = "".join(f"ACME-{n},{code},2027-12-31\n" for n, code in enumerate(codes))
        _key_file_choose(admin=admin, name="acme.csv", text="serial,code,expires\n" + rows)
        admin.get_by_role("button", name="Import").click()
        expect(admin.get_by_text("Imported 3 keys from acme.csv.")).to_be_visible()
        expect(admin).to_have_url(re.compile(r"/admin/keys/keybatch/\d+/change/"))
        shot(admin, "key-import-done")

        admin.goto("/admin/storefront/product/")
        row = admin.get_by_role("row", name=re.compile("Office 2021 Pro"))
        expect(row.locator("td.field-stock_count")).to_have_text("3")
    finally:
        admin.context.close()

    page.reload()
    expect(page.locator("#stock-status")).to_have_text("Only 3 left")
    expect(page.get_by_role("button", name="Add to cart")).to_be_visible()
    imported = Key.objects.filter(product=product, status="available")
    assert imported.count() == 3 and imported.filter(batch__supplier=supplier).count() == 3
