"""The product page sells: delivery promise and policy from the active preset, stock
state, a quantity stepper that is a plain input without JavaScript, requirements as a
definition list and the platform's activation steps."""

import re

import pytest
from django.urls import reverse

from catalog.activation import activation_steps
from catalog.selectors import requirements_rows
from tests.factories import ProductFactory, keys_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def preset(db):
    from policies.services import preset_load

    def load(slug):
        return preset_load(slug=slug, activate=True).preset

    return load


def test_the_product_page_shows_the_delivery_promise_and_the_policy_in_two_lines(
    client, product, preset
):
    preset("allkeymasters")
    keys_create(product=product, count=10)
    body = client.get(product.get_absolute_url()).content.decode()
    promise = re.search(r'id="delivery-promise">(.*?)</div>', body, re.S).group(1)
    assert "Delivered in seconds, by email and on screen" in promise
    policy = re.search(r'id="policy-summary">(.*?)</div>', body, re.S).group(1)
    assert "A key that does not work is replaced, or refunded if it cannot be." in policy
    assert "Report a problem at any time from your order page." in policy
    assert f'href="{reverse("policies:document", kwargs={"kind": "refund"})}"' in policy


def test_a_preset_with_a_claim_window_and_a_deadline_says_so(client, product, preset):
    preset("antimart")
    body = client.get(product.get_absolute_url()).content.decode()
    assert "Nothing after 24 hours? It counts as not delivered." in body
    assert re.search(r"Report a problem within \d+ days? of (purchase|noticing it)", body)


def test_stock_state_in_stock_low_and_out(client, product):
    product.low_stock_threshold = 3
    product.save(update_fields=["low_stock_threshold"])
    url = product.get_absolute_url()
    out = client.get(url).content.decode()
    assert re.search(r'id="stock-status" class="stock-out">\s*Out of stock', out)
    assert "Add to cart" not in out and "out of stock right now" in out
    keys_create(product=product, count=2)
    low = client.get(url).content.decode()
    assert re.search(r'class="stock-low">\s*Only 2 left', low)
    keys_create(product=product, count=5)
    assert re.search(r'class="stock-in">\s*In stock', client.get(url).content.decode())


def test_the_quantity_stepper_is_a_plain_number_input_with_buttons_for_javascript(client, product):
    keys_create(product=product, count=3)
    body = client.get(product.get_absolute_url()).content.decode()
    stepper = re.search(r"<div class=\"stepper\" data-stepper>(.*?)</div>", body, re.S).group(1)
    assert re.search(
        r'<input type="number" name="quantity" id="id_quantity" value="1" min="1" max="3"', stepper
    )
    buttons = re.findall(r"<button type=\"button\"[^>]*>", stepper)
    assert len(buttons) == 2 and all(" hidden" in b for b in buttons)  # shown by catalog.js
    assert "/static/js/catalog.js" in body and "<script>" not in body
    # the form posts as it did: the plain input is the quantity
    response = client.post(reverse("catalog:cart_add", args=[product.slug]), {"quantity": "2"})
    assert response.status_code == 302 and client.session["cart"] == {str(product.pk): 2}


def test_requirements_are_a_definition_list_and_activation_steps_follow_the_platform(
    client, category
):
    product = ProductFactory(
        category=category,
        platform="steam",
        kind="gift_code",
        system_requirements="Processor: 1 GHz\nMemory: 4 GB\nA Steam account",
        activation_instructions="Codes from this supplier start with an S.",
    )
    body = client.get(product.get_absolute_url()).content.decode()
    specs = re.search(r'<dl class="specs" id="requirements">(.*?)</dl>', body, re.S).group(1)
    assert re.findall(r"<dt>([^<]+)</dt>", specs) == ["Processor", "Memory", "Requirements"]
    steps = re.search(r'<ol class="steps">(.*?)</ol>', body, re.S).group(1)
    assert re.findall(r"<li>(.*?)</li>", steps) == activation_steps(
        platform="steam", kind="gift_code"
    )
    assert "Add funds to your Steam Wallet" in steps
    assert "Codes from this supplier start with an S." in body
    bc = re.search(r'<nav class="breadcrumbs"[^>]*>(.*?)</nav>', body, re.S).group(1)
    assert "Catalog" in bc and category.name in bc and 'aria-current="page"' in bc


def test_a_one_line_requirement_list_is_split_into_items():
    rows = requirements_rows(text="1 GHz 64-bit processor, 4 GB RAM, 64 GB storage, TPM 2.0.")
    assert rows == [
        ("Requirements", ["1 GHz 64-bit processor", "4 GB RAM", "64 GB storage", "TPM 2.0"])
    ]
    assert requirements_rows(text="Windows 10/11, 2 GB RAM.") == [
        ("Requirements", ["Windows 10/11, 2 GB RAM."])
    ]


def test_every_platform_has_steps_in_french_too():
    from django.utils import translation

    from catalog.models import Platform, ProductKind

    for platform in Platform.values:
        for kind in ProductKind.values:
            assert len(activation_steps(platform=platform, kind=kind)) >= 3
    with translation.override("fr"):
        assert activation_steps(platform="windows")  # lazily translated, never empty
