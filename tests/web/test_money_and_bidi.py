"""Prices read as customers of each language write them (babel/CLDR, one format per
page and email), and Latin codes, order numbers and product names are isolated (<bdi>)
so Arabic never reorders them."""

import re
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from core.emails import email_render
from tests.factories import ProductFactory, UserFactory, keys_create, order_delivered_new

pytestmark = pytest.mark.django_db

NBSP = "\xa0"
RLM = "\u200f"


@pytest.mark.parametrize(
    ("language", "currency", "amount", "expected"),
    [
        ("en", "EUR", "19.9", "€19.90"),
        ("fr", "EUR", "19.9", f"19,90{NBSP}€"),
        ("ar", "EUR", "19.9", f"{RLM}19.90{NBSP}€"),
        ("en", "USD", "1234.5", "$1,234.50"),
        ("fr", "USD", "1234.5", f"1\u202f234,50{NBSP}$US"),
        ("en", "JPY", "3000", "¥3,000"),
        ("en", "KWD", "1.5", "KWD1.500"),  # CLDR: 3 decimals
    ],
)
def test_money_filter_formats_for_the_active_language(language, currency, amount, expected):
    template = Template("{% load shop_format %}{{ amount|money:currency }}")
    with translation.override(language):
        rendered = template.render(Context({"amount": Decimal(amount), "currency": currency}))
    assert rendered == expected


def test_product_page_and_grid_show_one_price_format_per_language(client):
    product = ProductFactory(price=Decimal("29.90"), currency="EUR")
    for language, price in (("en", "€29.90"), ("fr", f"29,90{NBSP}€")):
        for url in (product.get_absolute_url(), "/"):
            html = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
            assert f"<bdi>{price}</bdi>" in html, (language, url)
            assert "29.90 EUR" not in html and "EUR</bdi>" not in html


def test_cart_total_is_formatted_for_the_language(client):
    product = ProductFactory(price=Decimal("29.90"), currency="EUR")
    keys_create(product=product, count=3)
    client.post(f"{product.get_absolute_url()}add/", {"quantity": 2})
    html = client.get("/cart/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    total = re.search(r'id="cart-total">(<bdi>.*?</bdi>)', html).group(1)
    assert total == f"<bdi>59,80{NBSP}€</bdi>"


def test_cancellation_email_states_the_refund_in_the_customers_format():
    product = ProductFactory(price=Decimal("29.90"), currency="EUR")
    keys_create(product=product, count=1)
    order = order_delivered_new(product=product)
    message = email_render(name="order_cancelled", context={"order": order}, language="fr")
    assert f"29,90{NBSP}€" in message.body
    assert "EUR" not in message.body
    assert f"<bdi>{order.number}</bdi>" in message.alternatives[0][0]


def test_arabic_product_page_isolates_the_product_name_and_latin_facts(client):
    product = ProductFactory(name="Windows 11 Pro", edition="11 Pro", region="EU")
    html = client.get(product.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert 'dir="rtl"' in html
    assert '<h1 dir="auto">Windows 11 Pro</h1>' in html
    with translation.override("ar"):
        region = product.region_label  # "EU" is named in the customer's language
    assert "<bdi>11 Pro</bdi>" in html and f"<bdi>{region}</bdi>" in html
    assert f"<bdi>{RLM}29.90{NBSP}€</bdi>" in html


def test_arabic_order_page_isolates_the_order_number_product_and_total(client):
    product = ProductFactory(name="Office 2021 Pro Plus", price=Decimal("29.90"))
    keys_create(product=product, count=1)
    user = UserFactory()
    order = order_delivered_new(product=product, user=user)
    client.force_login(user)
    html = client.get(f"/orders/o/{order.number}/", HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert 'dir="rtl"' in html
    h1 = re.search(r"<h1>(.*?)</h1>", html).group(1)
    assert f"<bdi>{order.number}</bdi>" in h1
    assert re.search(r"<td[^>]*><bdi>Office 2021 Pro Plus</bdi></td>", html)
    assert "<h3" in html and "<bdi>Office 2021 Pro Plus</bdi></h3>" in html  # the key's card
    assert f'<td class="price"><bdi>{RLM}29.90{NBSP}€</bdi></td>' in html
    # the key itself is a left-to-right isolate (site.css: direction ltr, unicode-bidi isolate)
    assert re.search(r'<span class="code"( data-key)?>[^<]+</span>', html)


def test_arabic_delivery_email_isolates_order_number_product_and_code():
    product = ProductFactory(name="Office 2021 Pro Plus")
    keys_create(product=product, count=1)
    order = order_delivered_new(product=product)
    from orders.services.emails import _email_context

    context = _email_context(order=order, kind="delivery")
    html = email_render(name="order_delivered", context=context, language="ar").alternatives[0][0]
    assert 'dir="rtl"' in html
    assert f"<bdi>{order.number}</bdi>" in html
    assert '<h2 style="font-size:1.1rem;" dir="auto">Office 2021 Pro Plus</h2>' in html
    assert '<code dir="ltr"' in html
