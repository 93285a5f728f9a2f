"""Checkout through the local test gateway: form, consents, prices, payment, delivery."""

import re
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from orders.models import Order, OrderConsent, OrderEmail, OrderStatus

pytestmark = pytest.mark.django_db(transaction=True)

CHECKOUT = "/orders/checkout/"


def _add_to_cart(client, product, quantity=1):
    response = client.post(reverse("catalog:cart_add", args=[product.slug]), {"quantity": quantity})
    assert response.status_code == 302


def _checkout(client, **overrides):
    data = {
        "billing_name": "Ada Lovelace",
        "email": "ada@example.com",
        "language": "en",
        "consent_policy_acceptance": "on",
    }
    data.update(overrides)
    return client.post(CHECKOUT, data, REMOTE_ADDR="198.51.100.23", HTTP_USER_AGENT="Firefox/1")


def _pay(client, order, card="4242 4242 4242 4242"):
    return client.post(
        reverse("orders:test_pay", args=[order.gateway_session_id]), {"card_number": card}
    )


def test_guest_checkout_pays_and_sees_the_key_on_screen_and_by_email(client, stocked, antimart):
    _add_to_cart(client, stocked, 2)
    response = _checkout(client)
    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:test_pay", args=[order.gateway_session_id])
    assert order.status == OrderStatus.PENDING
    assert order.total == Decimal("59.80")
    assert order.purchase_ip == "198.51.100.23"
    assert order.user_agent == "Firefox/1"

    response = _pay(client, order)
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED

    page = client.get(reverse("orders:detail", args=[order.number]))
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    codes = re.findall(r'<span class="code" data-key>([^<]+)</span>', page.content.decode())
    assert len(codes) == 2

    [message] = [m for m in mail.outbox if order.number in m.subject]
    assert message.to == ["ada@example.com"]
    for code in codes:
        assert code in message.body
        assert code in message.alternatives[0][0]
    assert "My Account" in message.body and "/orders/track/" in message.body
    assert OrderEmail.objects.get(order=order, kind="delivery").status == "sent"


def test_price_tampering_in_the_form_changes_nothing(client, stocked, antimart):
    _add_to_cart(client, stocked, 1)
    _checkout(client, total="0.01", price="0.01", unit_price="0.01", amount="1")
    order = Order.objects.get()
    assert order.total == Decimal("29.90")
    assert order.lines.get().unit_price == Decimal("29.90")


def test_a_bad_form_keeps_what_was_typed(client, stocked, antimart):
    _add_to_cart(client, stocked, 1)
    response = _checkout(client, email="not-an-email", consent_policy_acceptance="")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'value="Ada Lovelace"' in html
    assert 'value="not-an-email"' in html
    assert "Please tick this box to continue." in html
    assert not Order.objects.exists()


def test_declined_card_takes_no_money_and_lets_the_customer_try_again(client, stocked, antimart):
    _add_to_cart(client, stocked, 1)
    _checkout(client)
    order = Order.objects.get()
    response = _pay(client, order, card="4000 0000 0000 0002")
    assert response.status_code == 402
    assert "Your card was declined." in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING and order.paid_at is None
    _pay(client, order)
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED


def test_withdrawal_waiver_boxes_are_unticked_required_and_recorded(client, stocked, allkeymasters):
    from policies.models import PolicyAcceptance

    _add_to_cart(client, stocked, 1)
    page = client.get(CHECKOUT).content.decode()
    for kind in ("immediate_delivery_consent", "withdrawal_waiver"):
        box = re.search(rf'<input type="checkbox" name="consent_{kind}"[^>]*>', page).group(0)
        assert "checked" not in box
    assert "L221-28" in page

    response = _checkout(client)
    assert response.status_code == 400
    assert not Order.objects.exists()

    response = _checkout(
        client, consent_immediate_delivery_consent="on", consent_withdrawal_waiver="on"
    )
    order = Order.objects.get()
    consents = {c.kind: c for c in OrderConsent.objects.filter(order=order)}
    waiver = consents["withdrawal_waiver"]
    assert waiver.wording_version and "withdrawal" in waiver.text
    assert str(waiver.ip) == "198.51.100.23" and waiver.accepted_at is not None
    assert "L221-28" in waiver.legal_basis
    assert set(
        PolicyAcceptance.objects.filter(order_ref=order.number).values_list(
            "consent_kind", flat=True
        )
    ) == {"policy_acceptance", "immediate_delivery_consent", "withdrawal_waiver"}

    _pay(client, order)
    [message] = [m for m in mail.outbox if order.number in m.subject]
    key_code = order.lines.get().keys.get().last4
    body = message.body
    assert body.index(waiver.text) < body.index("Key:")
    assert key_code in body


def test_checkout_links_the_current_policy_versions(client, stocked, antimart):
    _add_to_cart(client, stocked, 1)
    page = client.get(CHECKOUT).content.decode()
    assert 'href="/policies/refund/?version=1"' in page  # the exact version accepted
    assert "version 1" in page
    assert client.get("/policies/refund/?version=1").status_code == 200
    assert "consent_withdrawal_waiver" not in page  # only AllKeyMasters asks for it


def test_the_database_refuses_a_second_open_order_for_one_cart(client, stocked, antimart):
    from django.db import IntegrityError, transaction

    from tests.factories import order_new

    _add_to_cart(client, stocked, 1)
    _checkout(client)
    order = Order.objects.get()
    assert order.cart_ref
    twin = order_new(product=stocked)
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=twin.pk).update(cart_ref=order.cart_ref)
    order.status = OrderStatus.EXPIRED  # no longer payable: the cart may check out again
    order.save(update_fields=["status"])
    Order.objects.filter(pk=twin.pk).update(cart_ref=order.cart_ref)


def test_checking_out_the_same_cart_again_returns_its_open_order(client, stocked, antimart):
    from orders.cart import CART_ID_SESSION_KEY

    _add_to_cart(client, stocked, 1)
    session = client.session
    cart, cart_id = session["cart"], session[CART_ID_SESSION_KEY]
    first = _checkout(client)
    session = client.session  # the payment page did not load: the customer goes back
    session["cart"], session[CART_ID_SESSION_KEY] = cart, cart_id
    session.save()
    second = _checkout(client)
    assert Order.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_without_an_active_policy_checkout_refuses_to_sell_and_alerts_staff(client, stocked):
    mail.outbox.clear()
    _add_to_cart(client, stocked)
    page = client.get(reverse("orders:checkout"))
    assert page.status_code == 503
    assert 'id="checkout-closed"' in page.content.decode()
    response = _checkout(client)
    assert response.status_code == 503
    assert not Order.objects.exists()
    assert client.session["cart"]  # the cart is kept for later
    alerts = [m for m in mail.outbox if "no active policy preset" in m.subject]
    assert len(alerts) == 1  # once an hour, not once per customer
    assert alerts[0].to == ["staff@keystore.test"]


def test_once_a_preset_is_active_checkout_sells_again(client, stocked):
    from policies.services import preset_load

    _add_to_cart(client, stocked)
    assert client.get(reverse("orders:checkout")).status_code == 503
    preset_load(slug="antimart", activate=True)
    assert client.get(reverse("orders:checkout")).status_code == 200
    assert _checkout(client).status_code == 302
    assert Order.objects.get().policy_preset == "antimart"
