"""The claim pages speak to the customer: only the reasons that apply to the order, the
customer's version of each decision (no staff wording, no internal clause codes, one date
format), a guest may claim from their own order page, a plain confirmation email."""

import pytest
from django.core import mail

from refunds.models import Claim
from tests.factories import order_delivered_new

from .conftest import preset_activate
from .test_claim_form import preview_then_submit


@pytest.fixture
def delivered(stocked, customer):
    """A delivered order, then the shop runs under AllKeyMasters (the demo preset)."""
    from keys.models import Key

    order = order_delivered_new(product=stocked, user=customer)
    preset_activate("allkeymasters")
    return order, Key.objects.get(order_line__order=order)


def _guest_order_page_session(client, order):
    """What the checkout leaves in the buyer's browser: the order page with its keys."""
    session = client.session
    session["orders_access"] = {str(order.pk): "screen"}
    session.save()


def test_a_guest_opens_a_claim_from_the_link_on_their_own_order_page(
    client, stocked, django_capture_on_commit_callbacks
):
    from keys.models import Key

    order = order_delivered_new(product=stocked, email="guest@example.com")
    preset_activate("allkeymasters")
    key = Key.objects.get(order_line__order=order)
    _guest_order_page_session(client, order)
    page = client.get(f"/orders/o/{order.number}/").content.decode()
    assert f'href="/claims/new/{order.number}/"' in page
    assert client.get(f"/claims/new/{order.number}/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        _preview, done = preview_then_submit(client, order, key)
    claim = Claim.objects.get()
    assert claim.guest_email == "guest@example.com"
    assert client.get(done["Location"]).status_code == 200


def test_a_delivered_order_offers_only_reasons_that_apply_and_explains_the_others(
    client, delivered, customer
):
    order, _key = delivered
    client.force_login(customer)
    page = client.get(f"/claims/new/{order.number}/").content.decode()
    for reason in ("change_of_mind", "cancel_request", "wrong_purchase", "incompatible"):
        assert f'value="{reason}"' not in page
        assert f'data-reason="{reason}"' in page  # one line saying why
    assert 'value="key_invalid"' in page and 'value="not_delivered"' in page
    assert "The key has already been delivered, so the sale is final" in page
    assert "(allkeymasters." not in page


def test_the_preview_is_the_customers_version_with_one_date_format(client, delivered, customer):
    order, key = delivered
    client.force_login(customer)
    preview, _done = preview_then_submit(client, order, key)
    html = preview.content.decode()
    assert 'data-outcome="verify"' in html
    assert "Staff must" not in html and "(allkeymasters." not in html
    assert "What happens next: we check the key with its issuer" in html
    assert "Europe/Paris time" in html and "midnight" not in html and "a.m." not in html
    assert 'href="/policies/refund/#clause-allkeymasters.request_procedure"' in html
    assert ">How to request a refund</a>" in html


def test_the_confirmation_email_has_no_midnight_and_links_the_clause_by_its_title(
    client, delivered, customer, django_capture_on_commit_callbacks
):
    order, key = delivered
    client.force_login(customer)
    with django_capture_on_commit_callbacks(execute=True):
        preview_then_submit(client, order, key)
    [email] = [m for m in mail.outbox if "We received your claim" in m.subject]
    html = email.alternatives[0][0]
    for body in (email.body, html):
        assert "midnight" not in body and "noon" not in body
        assert "Europe/Paris time" in body
    assert ">How to request a refund</a>" in html
    assert ">http" not in html  # no raw URL as the text of a link
