"""Coupon limits under concurrency, on PostgreSQL with real threads and connections."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from orders.cart import cart_get
from orders.models import Order
from orders.services import CheckoutError, ConsentGiven, order_create_from_cart, order_transition
from pricing.models import Coupon, CouponRedemption
from tests.factories import ProductFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BUYERS = 100
CONNECTIONS = 20  # the server's connection limit is shared; threads wait for a slot


@pytest.fixture
def antimart(db):
    from policies.services import preset_load

    return preset_load(slug="antimart", activate=True).preset


def test_100_concurrent_checkouts_on_a_10_use_code_redeem_it_exactly_10_times(antimart):
    product = ProductFactory(price=Decimal("20.00"))
    coupon = Coupon.objects.create(code="TEN", kind="percent", value=10, max_redemptions=10)
    barrier = threading.Barrier(BUYERS)
    gate = threading.Semaphore(CONNECTIONS)

    def buyer(i: int) -> str:
        barrier.wait(timeout=60)
        with gate:
            try:
                order = order_create_from_cart(
                    cart=cart_get(session_cart={str(product.pk): 1}, cart_id=f"cart-{i}"),
                    billing_name="Buyer",
                    email=f"buyer{i}@example.com",
                    language="en",
                    consents=[
                        ConsentGiven(
                            kind="policy_acceptance", text="I accept.", wording_version="test"
                        )
                    ],  # fmt: skip
                    coupon_code="ten",
                )
                return str(order.pk)
            except CheckoutError as exc:
                return f"refused: {exc}"
            finally:
                connection.close()

    with ThreadPoolExecutor(max_workers=BUYERS) as pool:
        results = list(pool.map(buyer, range(BUYERS)))

    made = [r for r in results if not r.startswith("refused")]
    assert len(made) == 10
    assert set(results) - set(made) == {"refused: This code has been used up."}
    for order in Order.objects.filter(pk__in=made):
        assert order.total == Decimal("18.00") and order.coupon_code == "TEN"
        order_transition(order=order, to_status="paid", reason="test")
    assert CouponRedemption.objects.filter(coupon=coupon, status="redeemed").count() == 10
    assert CouponRedemption.objects.filter(coupon=coupon).count() == 10
