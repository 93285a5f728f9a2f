"""Browser journey: a customer files a claim with a screenshot (seeing the policy first),
staff verify and approve a replacement in the admin, and the customer finds the new key
in My Account."""

import re

import pytest
from playwright.sync_api import expect

from keys.crypto import code_decrypt
from keys.models import Key
from refunds.models import Claim
from tests.e2e.conftest import admin_page, outbox_email, signed_in
from tests.factories import (
    ProductFactory,
    UserFactory,
    keys_create,
    order_delivered_new,
    png_bytes,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_claim_with_screenshot_then_staff_replacement_then_new_key_in_my_account(
    browser, page, live_server, shop
):
    shop("novakeys")
    product = ProductFactory(name="Windows 11 Pro", slug="windows-11-pro")
    keys_create(product=product, count=3)
    customer = UserFactory(email="ada@example.com")
    order = order_delivered_new(product=product, user=customer)
    failed = Key.objects.get(order_line__order=order)

    # The customer reports the problem from their claims page.
    signed_in(page=page, base_url=live_server.url, user=customer)
    page.goto("/claims/")
    page.get_by_role("link", name=f"Report a problem with order {order.number}").click()
    page.get_by_label("Which key or product?").select_option(f"key-{failed.pk}")
    page.get_by_label("The key is reported as invalid").check()
    page.get_by_label("Describe the problem").fill("Activation says 0xC004C003: invalid key.")
    page.get_by_label("Screenshots").set_input_files(
        {"name": "error.png", "mimeType": "image/png", "buffer": png_bytes(size=(320, 200))}
    )
    page.get_by_role("button", name="Check what the policy says").click()
    preview = page.locator("#claim-preview")
    expect(preview).to_contain_text("What our policy says")
    expect(preview).to_contain_text("check the key with its issuer")
    expect(page.locator("#preview-deadline")).to_contain_text("Asia/Riyadh")
    expect(page.locator("#attached-evidence")).to_contain_text("error.png")
    expect(page.get_by_label("Describe the problem")).to_have_value(
        "Activation says 0xC004C003: invalid key."
    )
    page.get_by_role("button", name="Send the claim").click()
    expect(page.get_by_role("heading", name=re.compile(r"Claim CL-"))).to_be_visible()
    claim = Claim.objects.get()
    assert claim.evidence.count() == 1
    outbox_email(to=customer.email, subject=claim.number)

    # Staff verify with the issuer and approve a replacement in the admin.
    staff = UserFactory(email="support@example.com", is_staff=True, is_superuser=True)
    admin = admin_page(browser=browser, base_url=live_server.url, user=staff)
    admin.goto("/admin/refunds/claim/")
    admin.get_by_role("link", name=claim.number).click()
    expect(admin.locator("#rec-outcome")).to_have_text("verify")
    expect(admin.locator("#key-history")).to_contain_text("Delivery email")
    expect(admin.get_by_role("img", name="error.png")).to_be_visible()
    admin.get_by_label("Issuer check").select_option("confirmed_defective")
    admin.get_by_label("Record the verification only").check()
    admin.get_by_role("button", name="Save decision").click()
    expect(admin.get_by_text("Verification recorded; the customer was notified.")).to_be_visible()
    expect(admin.locator("#rec-outcome")).to_have_text("replace")
    admin.get_by_label("Replace the key").check()
    admin.get_by_role("button", name="Save decision").click()
    expect(admin.get_by_text("Replacement key sent to the customer.")).to_be_visible()
    admin.context.close()

    claim.refresh_from_db()
    new_key = claim.replacement_key
    assert claim.status == "approved" and new_key.replaces_id == failed.pk
    email = outbox_email(to=customer.email, subject="replacement key")
    code = code_decrypt(new_key.ciphertext, key_id=new_key.pk)
    assert f"\n{code}\n" in email.body

    # The customer sees the new key in My Account.
    page.goto("/account/")
    row = page.locator(f"#key-{new_key.pk}")
    row.get_by_role("button", name="Show key").click()
    expect(page.get_by_text(code)).to_be_visible()
    expect(page.locator(f"#key-{failed.pk}")).to_have_count(0)  # the failed key is withdrawn
