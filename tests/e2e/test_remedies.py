"""Browser journeys through the remedies staff decide in the admin: a customer who bought
the wrong product claims and gets an exchange; a refund staff approve against the policy's
recommendation needs a written reason first. Each time the customer sees the result on
the claim's page."""

import re

import pytest
from playwright.sync_api import expect

from refunds.models import Claim
from tests.e2e.conftest import admin_page, outbox_email, outbox_link, shot, signed_in
from tests.factories import (
    ProductFactory,
    UserFactory,
    claim_new,
    keys_create,
    order_delivered_new,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def win(db):
    product = ProductFactory(name="Windows 11 Pro", slug="windows-11-pro")
    keys_create(product=product, count=2)
    return product


def _desk_panel(admin):
    return admin.locator("form").filter(has=admin.get_by_role("button", name="Save decision"))


def _decide(*, browser, live_server, claim, decision: str, fill: dict[str, str] | None = None):
    """Open ``claim`` in the admin as staff, choose ``decision`` in the claims desk's
    decision panel, fill ``fill`` (label -> value, or an option label for a select) and
    save it with the panel's one post. Returns the admin page."""
    staff = UserFactory(email=f"agent-{claim.pk}@example.com", is_staff=True, is_superuser=True)
    admin = admin_page(browser=browser, base_url=live_server.url, user=staff)
    admin.goto(f"/admin/refunds/claim/{claim.pk}/change/")
    _fill_and_save(admin=admin, decision=decision, fill=fill)
    return admin


def _fill_and_save(*, admin, decision: str, fill: dict[str, str] | None = None):
    panel = _desk_panel(admin)
    panel.get_by_label(decision, exact=True).check()
    for label, value in (fill or {}).items():
        field = panel.get_by_label(label).and_(
            panel.locator("select, input:not([type=radio]), textarea")
        )
        if field.evaluate("node => node.tagName") == "SELECT":
            field.select_option(label=value)
        else:
            field.fill(value)
    panel.get_by_role("button", name="Save decision").click()


def test_a_customer_who_bought_the_wrong_product_gets_an_exchange(
    browser, page, live_server, shop, win
):
    shop("windowskeymart")  # "incorrect purchases" are exchanged, not refunded
    office = ProductFactory(name="Office 2021 Pro", slug="office-2021-pro", price=win.price)
    keys_create(product=office, count=1)
    customer = UserFactory(email="ada@example.com")
    order = order_delivered_new(product=win, user=customer)
    old_key = order.lines.get().keys.get()

    signed_in(page=page, base_url=live_server.url, user=customer)
    page.goto(f"/claims/new/{order.number}/")
    page.get_by_label("Which key or product?").select_option(index=1)
    page.get_by_label("You bought the wrong product").check()
    page.get_by_label("Describe the problem").fill("I meant to buy Office, not Windows.")
    page.get_by_role("button", name="Check what the policy says").click()
    page.get_by_role("button", name="Send the claim").click()
    expect(page.get_by_role("heading", name=re.compile(r"Claim CL-"))).to_be_visible()
    claim = Claim.objects.get()

    admin = _decide(
        browser=browser,
        live_server=live_server,
        claim=claim,
        decision="Exchange for another product",
        fill={"Exchange for": str(office)},  # the product select, not the radio
    )
    expect(admin.locator(".messagelist .success")).to_contain_text(claim.number)
    admin.context.close()

    # the customer follows the email to the claim, then finds the new key in My Account
    email = outbox_email(to="ada@example.com", subject="your exchanged product")
    assert "your purchase is exchanged for Office 2021 Pro" in email.body
    code = email.body.split("Here is its key:")[1].split()[0]
    page.goto(outbox_link(message=email, path="/claims/"))
    expect(page.locator("#claim-status")).to_contain_text("Exchange for another product")
    expect(page.locator("#replacement-note")).to_contain_text(f"Your new key (•••• {code[-4:]})")
    shot(page, "remedy-exchange")
    claim.refresh_from_db()
    page.goto("/account/")
    new_key = page.locator(f"#key-{claim.replacement_key_id}")
    expect(page.get_by_role("row").filter(has=new_key)).to_contain_text("Office 2021 Pro")
    new_key.get_by_role("button", name="Show key").click()
    expect(new_key).to_contain_text(code)
    expect(page.locator(f"#key-{old_key.pk}")).to_have_count(0)  # the Windows key is withdrawn


def test_a_refund_against_the_recommendation_needs_a_reason_then_the_customer_sees_it(
    browser, page, live_server, shop, win
):
    shop("windowskeymart")  # "key guarantee": an invalid key is replaced
    customer = UserFactory(email="bob@example.com")
    order = order_delivered_new(product=win, user=customer)
    claim = claim_new(order=order, key=order.lines.get().keys.get(), user=customer)

    admin = _decide(
        browser=browser, live_server=live_server, claim=claim, decision="Refund",
        fill={"Refund amount": str(order.total)},
    )  # fmt: skip
    expect(admin.locator(".messagelist")).to_contain_text("The policy recommends replace")
    _fill_and_save(
        admin=admin,
        decision="Refund",
        fill={
            "Refund amount": str(order.total),
            "Internal note": "Issuer unreachable for a week; goodwill.",
        },
    )
    expect(admin.locator(".messagelist .success")).to_contain_text(claim.number)
    admin.context.close()

    email = outbox_email(to="bob@example.com", subject="refund approved")
    assert f"€{order.total} is refunded to your original payment method" in email.body
    signed_in(page=page, base_url=live_server.url, user=customer)
    page.goto(outbox_link(message=email, path="/claims/"))
    expect(page.get_by_role("heading", name=re.compile(claim.number))).to_be_visible()
    expect(page.locator("#claim-status")).to_contain_text("Refund")
    expect(page.locator("#refund-status")).to_contain_text(f"Refund of €{order.total}")
    shot(page, "remedy-refund")
    claim.refresh_from_db()
    assert claim.remedy == "refund"
