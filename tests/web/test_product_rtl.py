"""The product facts stay in their column in Arabic: Latin values are isolated inline
(bdi) instead of turning the whole <dd> left-to-right."""

import re

import pytest
from django.utils import translation

from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_product_facts_isolate_latin_values_without_flipping_the_row(client):
    product = ProductFactory(edition="11 Pro", region="Global")
    html = client.get(product.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert 'dir="rtl"' in html
    facts = re.search(r"<dl[^>]*>(.*?)</dl>", html, flags=re.S).group(1)
    assert "<dd dir=" not in facts
    with translation.override("ar"):
        region = product.region_label  # "Global" is named in the customer's language
    assert "<bdi>11 Pro</bdi>" in facts and f"<bdi>{region}</bdi>" in facts
