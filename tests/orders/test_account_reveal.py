"""My Account's "Show key" swaps in just the code: the row already names the product."""

import pytest
from django.urls import reverse

from orders.services import payment_test_card_submit
from tests.factories import UserFactory, order_new

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_in_page_reveal_returns_only_the_code_and_the_page_reveal_names_the_product(
    client, stocked
):
    user = UserFactory(email="alice@example.com")
    order = order_new(product=stocked, email="alice@example.com", user=user)
    payment_test_card_submit(session_id=order.gateway_session_id, card_number="4242424242424242")
    key = order.lines.get().keys.get()
    client.force_login(user)
    url = reverse("orders:key_reveal", args=[order.number, key.pk])

    fragment = client.post(url, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.strip().startswith('<span class="code" data-key>')
    assert stocked.name not in fragment

    page = client.post(url).content.decode()  # without JavaScript: a whole page
    assert "<h1>" in page and stocked.name in page and "data-key>" in page
