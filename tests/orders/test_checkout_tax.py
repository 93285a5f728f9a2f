"""Checkout under each tax regime, coupons end to end, location evidence, refunds after a
discount: what the customer is shown before paying is what is charged and stored."""

import re
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from core.identity import shop_identity_update
from orders.models import Order, OrderEvent, OrderStatus
from pricing.models import Coupon, CouponRedemption

from .helpers import post_event, session_event

pytestmark = pytest.mark.django_db(transaction=True)

CHECKOUT = "/orders/checkout/"


@pytest.fixture
def french_shop(db):
    shop_identity_update(name="AllKeyMasters", legal_name="AKM SAS", country="FR",
                         tax_regime="eu_oss")  # fmt: skip


def _cart(client, product, quantity=1):
    client.post(reverse("catalog:cart_add", args=[product.slug]), {"quantity": quantity})


def _checkout(client, **overrides):
    data = {
        "billing_name": "Ada Lovelace",
        "email": "ada@example.com",
        "language": "en",
        "billing_country": "FR",
        "consent_policy_acceptance": "on",
    }
    data.update(overrides)
    return client.post(CHECKOUT, data)


def _pay(client, order, card="4242 4242 4242 4242"):
    return client.post(
        reverse("orders:test_pay", args=[order.gateway_session_id]), {"card_number": card}
    )


def test_a_german_consumer_pays_the_same_price_with_german_vat_recorded(
    client, stocked, antimart, french_shop
):
    _cart(client, stocked, 2)
    page = client.post(CHECKOUT, {"billing_country": "DE", "update_prices": "1"}).content.decode()
    assert "VAT 19%" in page and "€9.55" in page and "€59.80" in page
    response = _checkout(client, billing_country="DE", quoted_total="59.80")
    assert response.status_code == 302
    order = Order.objects.get()
    assert (order.tax_regime, order.tax_treatment, order.billing_country) == ("eu_oss", "oss", "DE")
    assert (order.subtotal, order.net_total, order.tax_total, order.total) == (
        Decimal("59.80"), Decimal("50.25"), Decimal("9.55"), Decimal("59.80"),
    )  # fmt: skip
    line = order.lines.get()
    assert (line.tax_rate, line.net_amount, line.tax_amount, line.line_total) == (
        Decimal("19.00"), Decimal("50.25"), Decimal("9.55"), Decimal("59.80"),
    )  # fmt: skip


def test_a_french_consumer_pays_french_vat(client, stocked, antimart, french_shop):
    _cart(client, stocked)
    _checkout(client)
    order = Order.objects.get()
    assert (order.tax_treatment, order.tax_total, order.total) == (
        "domestic", Decimal("4.98"), Decimal("29.90"),
    )  # fmt: skip
    assert "VAT 20%" in client.get(reverse("orders:detail", args=[order.number])).content.decode()


def test_a_german_business_with_a_valid_vat_number_is_reverse_charged(
    client, stocked, antimart, french_shop
):
    _cart(client, stocked, 2)
    form = {"billing_country": "DE", "vat_number": "DE 136 695 976", "billing_company": "ACME"}
    page = client.post(CHECKOUT, {**form, "update_prices": "1"}).content.decode()
    assert "VAT reverse charged" in page and "€49.84" in page
    response = _checkout(client, **form, quoted_total="49.84")
    assert response.status_code == 302, re.findall(r"<li>(.*?)</li>", response.content.decode())
    order = Order.objects.get()
    assert (order.tax_treatment, order.billing_vat_number, order.billing_company) == (
        "reverse_charge", "DE136695976", "ACME",
    )  # fmt: skip
    assert (order.tax_total, order.total, order.lines.get().unit_price) == (
        Decimal("0"), Decimal("49.84"), Decimal("24.92"),
    )  # fmt: skip


def test_a_customer_outside_the_eu_is_shown_and_charged_the_net_price(
    client, stocked, antimart, french_shop
):
    _cart(client, stocked)
    # the page showed the French price: the new total is shown first, nothing is ordered
    response = _checkout(client, billing_country="US", quoted_total="29.90")
    page = response.content.decode()
    assert response.status_code == 200 and not Order.objects.exists()
    assert "no VAT (outside the EU)" in page and 'value="24.92"' in page
    _checkout(client, billing_country="US", quoted_total="24.92")
    order = Order.objects.get()
    assert (order.tax_treatment, order.total, order.tax_total) == (
        "outside_scope", Decimal("24.92"), Decimal("0"),
    )  # fmt: skip


def test_a_bad_vat_number_is_explained_and_what_was_typed_is_kept(
    client, stocked, antimart, french_shop
):
    _cart(client, stocked)
    response = _checkout(client, billing_country="DE", vat_number="DE136695975")
    page = response.content.decode()
    assert response.status_code == 400 and not Order.objects.exists()
    assert "This is not a valid EU VAT number" in page
    assert 'value="DE136695975"' in page and 'value="Ada Lovelace"' in page


def test_saudi_shop_charges_15_percent(client, stocked, antimart):
    shop_identity_update(name="NovaKeys", country="SA", tax_regime="national")
    _cart(client, stocked)
    _checkout(client, billing_country="SA")
    order = Order.objects.get()
    assert (order.tax_treatment, order.lines.get().tax_rate, order.tax_total) == (
        "national", Decimal("15.00"), Decimal("3.90"),
    )  # fmt: skip


def test_a_coupon_is_reserved_with_the_order_redeemed_on_payment_and_shown_everywhere(
    client, stocked, antimart, french_shop
):
    Coupon.objects.create(code="WELCOME10", kind="percent", value=10)
    _cart(client, stocked, 2)
    client.post(reverse("pricing:coupon_apply"), {"code": "welcome10"})
    page = client.get(CHECKOUT).content.decode()
    assert "Discount (code <bdi>WELCOME10</bdi>)" in page and "€53.82" in page
    _checkout(client, quoted_total="53.82")
    order = Order.objects.get()
    assert (order.coupon_code, order.discount_total, order.total) == (
        "WELCOME10", Decimal("5.98"), Decimal("53.82"),
    )  # fmt: skip
    assert order.net_total + order.tax_total == order.total
    [redemption] = CouponRedemption.objects.all()
    assert (redemption.order_id, redemption.status) == (order.pk, "reserved")
    gateway_page = client.get(reverse("orders:test_pay", args=[order.gateway_session_id]))
    text = gateway_page.content.decode()
    assert "2 × Windows 11 Pro" in text and "WELCOME10: -€5.98" in text and "€53.82" in text
    _pay(client, order)
    redemption.refresh_from_db()
    assert redemption.status == "redeemed"
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    [delivery] = [m for m in mail.outbox if "ada@example.com" in m.to]
    assert "Discount (code WELCOME10): -€5.98" in delivery.body and "€53.82" in delivery.body


def test_an_expired_or_failed_checkout_releases_the_coupon(client, stocked, antimart, settings):
    coupon = Coupon.objects.create(code="ONE", kind="fixed", value=5, currency="EUR",
                                   max_redemptions=1)  # fmt: skip
    _cart(client, stocked)
    client.post(reverse("pricing:coupon_apply"), {"code": "ONE"})
    _checkout(client)
    order = Order.objects.get()
    assert order.total == Decimal("24.90")
    other = type(client)()
    _cart(other, stocked)
    other.post(reverse("pricing:coupon_apply"), {"code": "ONE"})
    assert "This code has been used up." in other.get("/cart/").content.decode()
    response = post_event(client, session_event(order, type="checkout.session.expired"))
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED
    assert CouponRedemption.objects.get(coupon=coupon).status == "released"
    other.post(reverse("pricing:coupon_apply"), {"code": "ONE"})
    assert "Code ONE applied." in other.get("/cart/").content.decode()


def test_a_card_from_another_country_than_the_billing_country_is_flagged_for_staff(
    client, stocked, antimart, french_shop
):
    _cart(client, stocked)
    _checkout(client, billing_country="FR")
    order = Order.objects.get()
    _pay(client, order, card="4000 0027 6000 0016")  # issued in Germany
    order.refresh_from_db()
    assert (order.card_country, order.location_conflict) == ("DE", True)
    assert OrderEvent.objects.filter(order=order, kind="location_conflict").exists()
    assert any("billing country and card country differ" in m.subject for m in mail.outbox)


def test_a_card_from_the_billing_country_is_recorded_without_a_flag(
    client, stocked, antimart, french_shop
):
    _cart(client, stocked)
    _checkout(client, billing_country="FR")
    order = Order.objects.get()
    _pay(client, order, card="4000 0025 0000 0003")
    order.refresh_from_db()
    assert (order.card_country, order.location_conflict) == ("FR", False)


def test_refunds_of_a_discounted_order_never_give_back_more_than_was_paid(
    client, stocked, antimart, french_shop
):
    from orders.selectors import order_refundable_amount
    from refunds.models import Claim
    from refunds.services import claim_refund_amount_default

    Coupon.objects.create(code="TEN", kind="fixed", value=10, currency="EUR")
    _cart(client, stocked, 3)
    client.post(reverse("pricing:coupon_apply"), {"code": "TEN"})
    _checkout(client)
    order = Order.objects.get()
    _pay(client, order)
    order.refresh_from_db()
    line = order.lines.get()
    assert line.line_total == Decimal("79.70") and line.discount_amount == Decimal("10.00")
    assert order_refundable_amount(order=order, order_line=line) == Decimal("79.70")
    per_key = claim_refund_amount_default(
        claim=Claim(order=order, order_line=line, key=line.keys.first())
    )
    assert per_key == Decimal("26.56") < line.unit_price
    assert per_key * line.quantity <= line.line_total


def test_stripe_line_items_show_the_discount_and_add_up_to_the_order_total(
    client, stocked, antimart, french_shop, stripe_on
):
    Coupon.objects.create(code="TEN", kind="fixed", value=10, currency="EUR")
    _cart(client, stocked, 3)
    client.post(reverse("pricing:coupon_apply"), {"code": "TEN"})
    _checkout(client, billing_country="DE")
    order = Order.objects.get()
    [call] = stripe_on.calls("POST", "/v1/checkout/sessions")
    items = call.params["line_items"]
    charged = sum(int(i["price_data"]["unit_amount"]) * int(i["quantity"]) for i in items)
    assert charged == 7970 == int(order.total * 100)
    assert items[0]["price_data"]["product_data"]["name"] == "3 × Windows 11 Pro"
    assert re.search(r"TEN: -€10\.00", items[0]["price_data"]["product_data"]["description"])
    stripe_on.session_pay(order.gateway_session_id, card_country="US")
    post_event(client, session_event(order, amount_total=7970))
    order.refresh_from_db()
    assert (order.card_country, order.location_conflict) == ("US", True)
