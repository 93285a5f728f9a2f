"""Coupon rules: each refusal with its reason, discount allocation, batches, the cart form."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from pricing.models import Coupon, CouponBatch, CouponRedemption
from pricing.services import (
    CouponError,
    PriceLineIn,
    coupon_apply,
    coupon_batch_csv,
    coupon_batch_generate,
    coupon_discounts_allocate,
    coupon_reserve,
)
from tests.factories import CategoryFactory, ProductFactory, keys_create

pytestmark = pytest.mark.django_db


def _lines(*products, quantity=1):
    return [
        PriceLineIn(key=p.pk, product_id=p.pk, category_id=p.category_id, unit_gross=p.price,
                    quantity=quantity)
        for p in products
    ]  # fmt: skip


@pytest.fixture
def office(db):
    return ProductFactory(name="Office", price=Decimal("29.90"), currency="EUR")


def _refusal(code, lines, **kw):
    with pytest.raises(CouponError) as caught:
        coupon_apply(code=code, lines=lines, currency="EUR", **kw)
    return caught.value.reason, str(caught.value)


def test_each_refusal_has_its_own_reason_and_message(office):
    now = timezone.now()
    other = ProductFactory(category=CategoryFactory(), price=Decimal("9.00"))
    Coupon.objects.create(code="OLD", kind="percent", value=10, valid_until=now - dt.timedelta(1))
    Coupon.objects.create(code="SOON", kind="percent", value=10, valid_from=now + dt.timedelta(1))
    Coupon.objects.create(code="BIG", kind="percent", value=10, minimum_amount=Decimal("50"))
    only_other = Coupon.objects.create(code="OTHER", kind="percent", value=10)
    only_other.products.add(other)
    spent = Coupon.objects.create(code="SPENT", kind="percent", value=10, max_redemptions=1)
    coupon_reserve(coupon=spent, order_id="5f2b3c1e-0000-4000-8000-000000000001",
                   order_number="KS-1", email="a@example.com", discount_total=1)  # fmt: skip
    mine = Coupon.objects.create(code="ONCE", kind="percent", value=10,
                                 max_redemptions_per_customer=1)  # fmt: skip
    coupon_reserve(coupon=mine, order_id="5f2b3c1e-0000-4000-8000-000000000002",
                   order_number="KS-2", email="Ada@Example.com", discount_total=1)  # fmt: skip
    Coupon.objects.create(code="USD5", kind="fixed", value=5, currency="USD")
    lines = _lines(office)
    assert _refusal("NOPE", lines) == (
        "unknown",
        "This code does not exist or is no longer offered.",
    )
    assert _refusal("old", lines)[0] == "expired" and "expired on" in _refusal("OLD", lines)[1]
    assert _refusal("SOON", lines)[0] == "not_yet_valid"
    reason, message = _refusal("BIG", lines)
    assert reason == "minimum" and "at least €50.00" in message
    assert _refusal("OTHER", lines) == (
        "not_applicable", "This code does not apply to the items in your cart.",
    )  # fmt: skip
    assert _refusal("SPENT", lines) == ("used_up", "This code has been used up.")
    assert _refusal("ONCE", lines, email="ada@example.COM") == (
        "already_used", "You have already used this code.",
    )  # fmt: skip
    assert coupon_apply(code="ONCE", lines=lines, currency="EUR", email="bob@example.com")
    assert _refusal("USD5", lines)[0] == "currency"


def test_a_code_that_would_leave_nothing_to_pay_is_refused_not_charged_as_zero(office):
    Coupon.objects.create(code="FREE", kind="percent", value=100)
    Coupon.objects.create(code="ALMOST", kind="fixed", value=Decimal("29.60"), currency="EUR")
    Coupon.objects.create(code="HALF", kind="percent", value=50)
    assert _refusal("FREE", _lines(office))[0] == "nothing_to_pay"
    assert _refusal("ALMOST", _lines(office))[0] == "nothing_to_pay"  # 0.30 left: below 0.50
    assert coupon_apply(code="HALF", lines=_lines(office), currency="EUR").total == Decimal("14.95")


def test_a_coupon_limited_to_a_category_discounts_only_its_lines(office):
    games = CategoryFactory(name="Games")
    game = ProductFactory(category=games, price=Decimal("10.00"))
    coupon = Coupon.objects.create(code="GAMES", kind="percent", value=25)
    coupon.categories.add(games)
    applied = coupon_apply(code="games", lines=_lines(office, game), currency="EUR")
    assert applied.discounts == [Decimal("0"), Decimal("2.50")]


def test_fixed_discount_is_spread_in_proportion_and_adds_up_exactly():
    grosses = [Decimal("10.00"), Decimal("10.00"), Decimal("10.00")]
    shares = coupon_discounts_allocate(kind="fixed", value=Decimal("10.00"), grosses=grosses,
                                       eligible=[True, True, True], currency="EUR")  # fmt: skip
    assert shares == [Decimal("3.34"), Decimal("3.33"), Decimal("3.33")]
    capped = coupon_discounts_allocate(kind="fixed", value=Decimal("100"), grosses=grosses,
                                       eligible=[True, False, True], currency="EUR")  # fmt: skip
    assert capped == [Decimal("10.00"), Decimal("0"), Decimal("10.00")]
    yen = coupon_discounts_allocate(kind="fixed", value=Decimal("1000"),
                                    grosses=[Decimal("3000"), Decimal("1500")],
                                    eligible=[True, True], currency="JPY")  # fmt: skip
    assert yen == [Decimal("667"), Decimal("333")]


def test_a_code_is_unique_whatever_its_case():
    from django.db import IntegrityError

    Coupon.objects.create(code="Spring", kind="percent", value=5)
    with pytest.raises(IntegrityError):
        Coupon.objects.create(code="SPRING", kind="percent", value=5)


def test_a_single_use_code_is_held_once_by_the_database():
    from django.db import IntegrityError, transaction

    coupon = Coupon.objects.create(code="ONE", kind="percent", value=5, max_redemptions=1)
    coupon_reserve(coupon=coupon, order_id="5f2b3c1e-0000-4000-8000-000000000003",
                   order_number="KS-3", email="a@example.com", discount_total=1)  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        coupon_reserve(coupon=coupon, order_id="5f2b3c1e-0000-4000-8000-000000000004",
                       order_number="KS-4", email="b@example.com", discount_total=1)  # fmt: skip


def test_a_batch_makes_its_single_use_codes_once_and_exports_them():
    batch = CouponBatch.objects.create(name="Spring, 2026", prefix="SPR", kind="fixed",
                                       value=5, currency="EUR", count=20)  # fmt: skip
    assert coupon_batch_generate(batch=batch) == 20
    assert coupon_batch_generate(batch=batch) == 0
    codes = list(batch.coupons.values_list("code", "max_redemptions"))
    assert len({c for c, _m in codes}) == 20 and {m for _c, m in codes} == {1}
    text = coupon_batch_csv(batches=[batch])
    assert text.splitlines()[0].startswith("campaign,code,kind")
    assert len(text.splitlines()) == 21 and '"Spring, 2026",SPR' in text


def test_the_cart_applies_a_code_and_explains_a_refusal(client, office):
    keys_create(product=office, count=2)
    Coupon.objects.create(code="WELCOME10", kind="percent", value=10)
    client.post(reverse("catalog:cart_add", args=[office.slug]), {"quantity": 2})
    response = client.post(reverse("pricing:coupon_apply"), {"code": "nope"}, follow=True)
    page = response.content.decode()
    assert "This code does not exist" in page and 'value="NOPE"' in page
    response = client.post(reverse("pricing:coupon_apply"), {"code": "welcome10"}, follow=True)
    page = response.content.decode()
    assert "Code WELCOME10 applied." in page
    assert "−€5.98" in page and "€53.82" in page
    response = client.post(reverse("pricing:coupon_remove"), follow=True)
    assert "€59.80" in response.content.decode() and "−€5.98" not in response.content.decode()
    assert CouponRedemption.objects.count() == 0  # the cart reserves nothing
