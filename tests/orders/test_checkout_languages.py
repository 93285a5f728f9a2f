"""Checkout and policy pages in French and Arabic: the preset's legal bases and consent
wordings in the customer's language, citations isolated in Arabic, and the recorded
wording version naming the language shown."""

import re

import pytest

from policies.consents import CONSENT_WORDING_VERSION
from tests.orders.test_checkout import CHECKOUT, _add_to_cart, _checkout


def _checkout_page_in(client, language, *, product):
    client.cookies["django_language"] = language
    _add_to_cart(client, product, 1)
    return client.get(CHECKOUT).content.decode()


@pytest.mark.django_db(transaction=True)
def test_french_checkout_shows_and_records_the_french_legal_basis_and_wording(
    client, stocked, allkeymasters
):
    from orders.models import Order, OrderConsent

    page = _checkout_page_in(client, "fr", product=stocked)
    assert "Code de la consommation, article L221-28 13°" in page
    assert "French Consumer Code" not in page
    _checkout(
        client,
        language="fr",
        consent_immediate_delivery_consent="on",
        consent_withdrawal_waiver="on",
    )
    waiver = OrderConsent.objects.get(order=Order.objects.get(), kind="withdrawal_waiver")
    assert waiver.legal_basis == "Code de la consommation, article L221-28 13°"
    assert waiver.wording_version == f"{CONSENT_WORDING_VERSION}-fr"
    assert "rétractation" in waiver.text


@pytest.mark.django_db(transaction=True)
def test_arabic_checkout_isolates_the_citation_inside_the_legal_basis_and_wording(
    client, stocked, allkeymasters
):
    page = _checkout_page_in(client, "ar", product=stocked)
    assert "قانون الاستهلاك الفرنسي" in page
    assert "<bdi>L221-28 13°</bdi>" in page
    # no bare citation left for the bidi algorithm to reorder
    assert not re.search(r"(?<!<bdi>)L221-28", page)


@pytest.mark.django_db
def test_arabic_policy_page_wraps_citations_in_bdi(client, allkeymasters):
    client.cookies["django_language"] = "ar"
    page = client.get("/policies/refund/").content.decode()
    assert 'dir="rtl"' in page
    assert "L221-28" in page
    assert not re.search(r"(?<!<bdi>)L221-28", page)
    english = client.get("/policies/refund/", HTTP_COOKIE="django_language=en")
    body = english.content.decode()
    assert "L221-28" in body and "<bdi>L221-28" not in body  # only right-to-left pages isolate
