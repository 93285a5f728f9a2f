"""The storefront theme: the shop's identity in header and footer, tables that stack on
phones (every value cell labelled), the header menu usable without JavaScript, error
pages in the shop's design, and no inline style anywhere (the CSP forbids it)."""

import re
from decimal import Decimal

import pytest
from django.template import loader
from django.urls import reverse

from core.identity import shop_identity_update
from tests.factories import ProductFactory, keys_create

pytestmark = pytest.mark.django_db

TABLE_STACK = re.compile(r'<table class="[^"]*table-stack[^"]*">(.*?)</table>', re.S)


def test_header_and_footer_carry_the_shop_identity(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        shop_identity_update(
            name="Clé Shop",
            legal_name="Clé SAS",
            address_line1="1 rue de la Paix",
            postcode="75002",
            city="Paris",
            country="FR",
            support_email="help@cle.example",
        )
    html = client.get(reverse("catalog:contact")).content.decode()
    header = html.split('<header class="site-header"', 1)[1].split("</header>", 1)[0]
    assert '<a class="brand"' in header and "Clé Shop" in header
    assert 'src="/static/icons/logo-mark.svg"' in header
    assert '<details class="site-menu">' in header  # the phone menu works without JS
    assert 'id="language-select"' in header
    footer = html.split('<footer class="site-footer"', 1)[1]
    assert "<address>" in footer and "Clé SAS" in footer and "75002 Paris" in footer
    assert 'href="mailto:help@cle.example"' in footer
    assert 'style="' not in html and "<style" not in html


def test_cart_table_stacks_with_a_label_on_every_value_cell(client):
    product = ProductFactory(price=Decimal("29.90"))
    keys_create(product=product, count=2)
    client.post(reverse("catalog:cart_add", args=[product.slug]), {"quantity": 1})
    html = client.get(reverse("catalog:cart")).content.decode()
    table = TABLE_STACK.search(html).group(1)
    body = table.split("<tbody>", 1)[1]
    cells = re.findall(r"<td([^>]*)>", body)
    assert len(cells) == 5
    assert 'class="cart-product"' in cells[0]  # the product name heads the stacked row
    assert all("data-label=" in cell for cell in cells[1:])
    assert 'inputmode="numeric"' in body


def test_the_404_page_is_in_the_shop_design(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert '<header class="site-header"' in html and "We cannot find this page" in html
    assert reverse("catalog:catalog") in html


def test_the_500_page_renders_without_context_or_database():
    html = loader.get_template("500.html").render()
    assert "/static/css/site.css" in html and "Something went wrong on our side" in html
    assert 'href="/orders/track/"' in html
