from decimal import Decimal

import pytest
from django.urls import reverse

from orders.cart import CartError, cart_add, cart_get
from tests.factories import ProductFactory, keys_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def product(product):
    """The shared product with 3 keys in stock."""
    keys_create(product=product, count=3)
    return product


def test_an_out_of_stock_product_cannot_be_added_by_a_direct_post(client, db, category):
    sold_out = ProductFactory(category=category, name="Office 2021", slug="office-2021")
    response = client.post(
        reverse("catalog:cart_add", args=[sold_out.slug]), {"quantity": 1}, follow=True
    )
    assert [str(m) for m in response.context["messages"]] == ["Office 2021 is out of stock."]
    assert client.session.get("cart", {}) == {}


def test_the_cart_refuses_more_than_the_keys_in_stock(client, product):
    response = client.post(
        reverse("catalog:cart_add", args=[product.slug]), {"quantity": 4}, follow=True
    )
    assert "Only 3 of Windows 11 Pro left in stock." in response.content.decode()
    assert client.session.get("cart", {}) == {}
    client.post(reverse("catalog:cart_add", args=[product.slug]), {"quantity": 3})
    client.post(reverse("catalog:cart_update", args=[product.pk]), {"quantity": 4})
    assert client.session["cart"] == {str(product.pk): 3}


def test_adding_to_cart_uses_the_server_price(client, product):
    client.post(reverse("catalog:cart_add", args=[product.slug]), {"quantity": 2, "price": "0.01"})
    cart = cart_get(session_cart=client.session["cart"])
    assert cart.total == Decimal("59.80")
    assert cart.item_count == 2


def test_cart_refuses_more_than_the_per_order_limit(client, product):
    response = client.post(
        reverse("catalog:cart_add", args=[product.slug]), {"quantity": 6}, follow=True
    )
    assert "at most 5" in response.content.decode()
    assert client.session.get("cart", {}) == {}


def test_cart_refuses_mixed_currencies(product):
    dollars = ProductFactory(currency="USD")
    keys_create(product=dollars, count=1)
    cart = cart_add(session_cart={}, product=product, quantity=1)
    with pytest.raises(CartError):
        cart_add(session_cart=cart, product=dollars, quantity=1)


def test_update_to_zero_removes_the_line(client, product):
    client.post(reverse("catalog:cart_add", args=[product.slug]), {"quantity": 1})
    client.post(reverse("catalog:cart_update", args=[product.pk]), {"quantity": 0})
    assert client.session["cart"] == {}


def test_invalid_quantity_keeps_the_cart(client, product):
    client.post(reverse("catalog:cart_add", args=[product.slug]), {"quantity": 2})
    response = client.post(
        reverse("catalog:cart_update", args=[product.pk]), {"quantity": "lots"}, follow=True
    )
    assert response.status_code == 200
    assert client.session["cart"] == {str(product.pk): 2}


def test_removed_product_disappears_from_cart_without_error(client, product):
    client.post(reverse("catalog:cart_add", args=[product.slug]), {"quantity": 1})
    product.is_active = False
    product.save(update_fields=["is_active"])
    response = client.get(reverse("catalog:cart"))
    assert "Your cart is empty" in response.content.decode()


def test_a_refused_quantity_reads_as_a_sentence_without_field_names(client, product):
    response = client.post(
        reverse("catalog:cart_add", args=[product.slug]), {"quantity": 999999}, follow=True
    )
    shown = [str(m) for m in response.context["messages"]]
    assert shown == ["Ensure this value is less than or equal to 100."]
    response = client.post(
        reverse("catalog:cart_update", args=[product.pk]), {"quantity": "lots"}, follow=True
    )
    assert [str(m) for m in response.context["messages"]] == ["Enter a whole number."]


def test_adding_to_the_cart_confirms_with_a_sentence(client, product):
    response = client.post(
        reverse("catalog:cart_add", args=[product.slug]), {"quantity": 1}, follow=True
    )
    assert [str(m) for m in response.context["messages"]] == [f"{product.name} is in your cart."]
