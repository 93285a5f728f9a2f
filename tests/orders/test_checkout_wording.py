"""What the customer reads around the checkout consents: no stray separators, no legal
basis repeated after a wording that already names it."""

import re

import pytest
from django.core import mail

from orders.models import Order
from tests.orders.test_checkout import CHECKOUT, _add_to_cart, _checkout, _pay

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_consent_without_legal_basis_has_no_dangling_separator(client, stocked, allkeymasters):
    _add_to_cart(client, stocked, 1)
    page = client.get(CHECKOUT).content.decode()
    notes = re.findall(r'<span class="muted">(.*?)</span>', page, flags=re.S)
    assert notes, "each consent shows its legal basis or clause link"
    for note in notes:
        assert not note.strip().startswith("·"), note
    assert any("L221-28" in n and " · " in n for n in notes)  # both parts: one separator


def test_the_confirmation_email_names_the_legal_basis_once_per_consent(
    client, stocked, allkeymasters
):
    _add_to_cart(client, stocked, 1)
    _checkout(client, consent_immediate_delivery_consent="on", consent_withdrawal_waiver="on")
    order = Order.objects.get()
    _pay(client, order)
    [message] = [m for m in mail.outbox if order.number in m.subject]
    html = message.alternatives[0][0]
    for body in (message.body, html):
        consent_lines = [line for line in re.split(r"\n|<li>", body) if "withdrawal" in line]
        assert consent_lines
        for line in consent_lines:
            assert line.count("L221-28") <= 1, line
    # the consent whose wording does not name the article still gets it appended
    assert any(
        "delivered immediately" in line and "L221-28" in line for line in message.body.splitlines()
    )


def test_each_key_email_shows_its_own_orders_acceptance_times(client, stocked, allkeymasters):
    """The consents record is rendered once per wording and language (web.templatetags.
    shop_format.consents_record): two orders with the same wording still each show the
    moment their own buyer accepted, in both parts of the email."""
    from datetime import UTC, datetime

    from django.utils import translation

    from core.dates import datetime_for_customer
    from core.shop_clock import shop_time_zone
    from orders.models import OrderConsent

    moments = [datetime(2026, 3, 6, 10, 0, tzinfo=UTC), datetime(2026, 7, 14, 18, 30, tzinfo=UTC)]
    orders = []
    for moment in moments:
        _add_to_cart(client, stocked, 1)
        _checkout(client, consent_immediate_delivery_consent="on", consent_withdrawal_waiver="on")
        order = Order.objects.exclude(pk__in=[o.pk for o in orders]).get()
        OrderConsent.objects.filter(order=order).update(accepted_at=moment)
        _pay(client, order)
        orders.append(order)
    zone = shop_time_zone()
    for order, moment, other in zip(orders, moments, reversed(moments), strict=True):
        [message] = [m for m in mail.outbox if order.number in m.subject]
        with translation.override(order.language or "en"):
            own = datetime_for_customer(moment=moment, time_zone=zone)
            theirs = datetime_for_customer(moment=other, time_zone=zone)
        count = OrderConsent.objects.filter(order=order).count()
        for body in (message.body, message.alternatives[0][0]):
            assert body.count(f"accepted {own}") == count >= 2 and theirs not in body
