"""The order page after payment: a thank-you, where the keys were sent, each key in a copy
field (selectable text without JavaScript), that product's activation steps, and links to
the claim form and, when the shop issues them, the invoice."""

import re

import pytest
from django.urls import reverse

from catalog.activation import activation_steps
from tests.factories import UserFactory, order_delivered_new

pytestmark = pytest.mark.django_db


def _screen(client, order):
    """The buyer's own browser right after paying (the session holds the order)."""
    session = client.session
    session["orders_access"] = {str(order.pk): "screen"}
    session.save()
    return client.get(reverse("orders:detail", args=[order.number])).content.decode()


def test_the_thank_you_shows_the_key_in_a_copy_field_with_the_activation_steps(client, stocked):
    order = order_delivered_new(product=stocked, email="grace@example.com")
    body = _screen(client, order)
    thanks = re.search(r'<section class="thank-you[^"]*"[^>]*>(.*?)</section>', body, re.S).group(1)
    assert "Thank you for your order!" in thanks
    assert "we sent them to <bdi>grace@example.com</bdi>" in thanks
    field = re.search(r'<div class="copy-field">(.*?)</div>', body, re.S).group(1)
    code = re.search(r'<span class="code" data-key>([^<]+)</span>', field).group(1)
    assert code.endswith(order.lines.get().keys.get().last4)
    assert re.search(
        r'<button type="button" class="btn-secondary" data-copy data-copied="Copied" hidden>Copy',
        field,
    )
    assert body.count("data-key>") == 1  # shown once, not again in the summary table
    assert "data-copy-status" in body and 'aria-live="polite"' in body
    steps = re.search(r'<ol class="steps">(.*?)</ol>', body, re.S).group(1)
    assert re.findall(r"<li>(.*?)</li>", steps) == activation_steps(platform="windows")
    assert "Settings &gt; System &gt; Activation &gt; Change product key." in body
    assert f'href="{reverse("refunds:new", args=[order.number])}"' in body


def test_my_account_shows_the_key_masked_until_asked_with_the_same_layout(client, stocked):
    user = UserFactory()
    order = order_delivered_new(product=stocked, user=user)
    client.force_login(user)
    body = client.get(reverse("orders:detail", args=[order.number])).content.decode()
    assert "Thank you for your order!" in body and "data-key>" not in body
    assert re.search(r'<div class="copy-field"><span class="code">•••• \w{4}</span>', body)
    assert "Show key" in body


def test_the_thank_you_links_the_invoice_once_it_is_issued(client, stocked):
    from invoices.services import invoice_issue

    order = order_delivered_new(product=stocked)
    invoice = invoice_issue(order_id=order.pk)  # idempotent: the paid hook may have issued it
    body = _screen(client, order)
    url = reverse("invoices:invoice_pdf", args=[order.number])
    assert f'href="{url}"' in body and invoice.display_number in body


def test_no_thank_you_before_the_keys_are_there(client, stocked):
    from tests.factories import order_new

    order = order_new(product=stocked, quantity=1, email="wait@example.com")
    body = _screen(client, order)
    assert "Thank you for your order!" not in body and "copy-field" not in body
