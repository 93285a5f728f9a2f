"""Browser journey: a support agent decides three claims in a row on the claims desk,
one post each, with "save and next" (queue order: oldest due first)."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.factories import ProductFactory, UserFactory, keys_create, order_delivered_new
from tests.staff import staff_login_browser

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_an_agent_decides_three_claims_in_a_row_with_save_and_next(page, live_server, shop):
    import importlib

    from django.apps import apps
    from django.contrib.auth.models import Group

    from orders.models import FraudSettings
    from refunds.models import CannedReply, Claim
    from tests.factories import claim_new

    shop("novakeys")
    FraudSettings.objects.update_or_create(id=1, defaults={"enabled": False})
    product = ProductFactory(name="Office 2021 Pro", slug="office-2021-pro")
    keys_create(product=product, count=8)
    customer = UserFactory(email="ada@example.com")
    order = order_delivered_new(product=product, user=customer, quantity=3)
    claims = [
        claim_new(order=order, key=key, description=f"Refused as invalid ({i}).")
        for i, key in enumerate(order.lines.get().keys.order_by("pk"))
    ]
    now = timezone.now()
    for hours, claim in zip((3, 1, 2), claims, strict=True):
        Claim.objects.filter(pk=claim.pk).update(verification_due_at=now + timedelta(hours=hours))
    queue = [claims[1], claims[2], claims[0]]  # oldest due first
    CannedReply.objects.create(
        reason="key_invalid",
        language="en",
        title="Screenshot please",
        body="Please send a screenshot of the activation error.",
    )
    # the roles as the migrations leave them (an earlier transactional test may have flushed)
    importlib.import_module("accounts.migrations.0003_staff_roles").roles_sync(apps)
    agent = UserFactory(email="agent@example.com", is_staff=True)
    agent.groups.add(Group.objects.get(name="Support agent"))

    staff_login_browser(page=page, user=agent)  # the real sign-in: password, then TOTP
    page.goto(live_server.url + "/admin/refunds/claim/next/")
    expect(page.locator("#desk-title")).to_contain_text(queue[0].number)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.locator("#decision-panel").screenshot(path=str(SCREENSHOTS / "claim-desk.png"))

    # 1: the issuer confirms the defect; replace (the policy's answer then), one post.
    page.get_by_label("Issuer check").select_option("confirmed_defective")
    page.get_by_label("Replace the key").check()
    page.get_by_role("button", name="Save and next claim").click()
    expect(page.get_by_text(f"{queue[0].number}: Replacement key sent")).to_be_visible()
    expect(page.locator("#desk-title")).to_contain_text(queue[1].number)

    # 2: ask for a screenshot with the canned reply.
    page.get_by_label("Ask the customer for information").check()
    page.get_by_label("Canned reply").select_option(label="Screenshot please")
    expect(page.locator("#id_reply")).to_have_value(
        "Please send a screenshot of the activation error."
    )
    page.get_by_role("button", name="Save and next claim").click()
    expect(page.get_by_text(f"{queue[1].number}: The customer was asked")).to_be_visible()
    expect(page.locator("#desk-title")).to_contain_text(queue[2].number)

    # 3: the key works: reject with the recommended clause, then the queue is empty.
    page.get_by_label("Issuer check").select_option("not_defective")
    page.get_by_label("Activated successfully").check()
    page.get_by_label("Reject").check()
    page.get_by_role("button", name="Save and next claim").click()
    expect(page.get_by_text(f"{queue[2].number}: Claim rejected")).to_be_visible()
    expect(page.get_by_text("Your queue is empty.")).to_be_visible()

    statuses = {c.pk: c.status for c in Claim.objects.all()}
    assert statuses == {queue[0].pk: "approved", queue[1].pk: "needs_info",
                        queue[2].pk: "rejected"}  # fmt: skip
