"""The staff claims queue and claim page in the Django admin."""

from datetime import timedelta

import pytest
from django.utils import timezone

from keys.services import key_reveal
from refunds.models import Claim
from tests.factories import claim_new, order_delivered_new
from tests.staff import staff_login


@pytest.fixture
def queue(delivered, stocked, customer):
    from policies.services import preset_load

    preset_load(slug="novakeys", activate=True)
    order, key = delivered
    key_reveal(key=key, channel="account", ip="203.0.113.99", user_agent="Safari/17", user=customer)
    overdue = claim_new(order=order, key=key)
    Claim.objects.filter(pk=overdue.pk).update(
        verification_due_at=timezone.now() - timedelta(hours=2)
    )
    second_order = order_delivered_new(product=stocked, user=customer)
    later = claim_new(order=second_order, key=second_order.lines.get().keys.get(),
                      reason="code_expired")  # fmt: skip
    return overdue, later


def test_the_queue_filters_by_deadline_status_reason_product_and_batch(client, queue, agent):
    overdue, later = queue
    staff_login(client=client, user=agent)
    page = client.get("/admin/refunds/claim/").content.decode()
    assert overdue.number in page and later.number in page
    assert "(Asia/Riyadh)" in page and "overdue" in page

    only = client.get("/admin/refunds/claim/?due=overdue").content.decode()
    assert overdue.number in only and later.number not in only
    only = client.get("/admin/refunds/claim/?reason=code_expired").content.decode()
    assert later.number in only and overdue.number not in only
    only = client.get("/admin/refunds/claim/?status=submitted").content.decode()
    assert overdue.number in only and later.number in only
    product_id = overdue.order_line.product_id
    only = client.get(f"/admin/refunds/claim/?order_line__product__id__exact={product_id}")
    assert only.status_code == 200 and overdue.number in only.content.decode()
    batch_id = overdue.key.batch_id
    only = client.get(f"/admin/refunds/claim/?key__batch__id__exact={batch_id}")
    assert only.status_code == 200 and overdue.number in only.content.decode()


def test_the_claim_page_shows_recommendation_key_views_and_the_customers_history(
    client, queue, agent
):
    overdue, later = queue
    staff_login(client=client, user=agent)
    page = client.get(f"/admin/refunds/claim/{overdue.pk}/change/").content.decode()
    assert 'id="rec-outcome">verify<' in page
    assert "#clause-novakeys.verification" in page
    assert "203.0.113.99" in page and "Safari/17" in page  # the customer's view
    assert "Delivery email" in page  # the delivery email disclosure
    assert later.number in page and later.order.number in page  # other claims and orders
    assert "Save and next claim" in page and 'value="replace"' in page
    assert overdue.key.masked in page
    from keys.crypto import code_decrypt

    assert code_decrypt(overdue.key.ciphertext, key_id=overdue.key.pk) not in page


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_the_customer_page_follows_the_refund_status(
    transactional_db, preset, client, delivered, customer, agent
):
    from keys.models import Key
    from refunds.services import claim_approve_refund, claim_verification_record

    order, key = delivered
    Key.objects.filter(status="available").update(status="defective")
    claim = claim_new(order=order, key=key)
    claim = claim_verification_record(claim=claim, actor=agent, result="confirmed_defective")
    claim_approve_refund(claim=claim, actor=agent)
    client.force_login(customer)
    page = client.get(f"/claims/{claim.number}/").content.decode()
    assert "Refund of <bdi>€29.90</bdi>: Succeeded." in page
