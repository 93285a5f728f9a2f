"""The staff dashboard on /admin/: every figure computed from known data in the store's
time zone (novakeys: Asia/Riyadh, UTC+3), and a query count that does not grow with the
number of orders."""

import re
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import dateformat, timezone

from keys.models import KeyStatus
from keys.services import key_mark_defective, key_transition
from orders.models import Order, OrderLine, Refund
from refunds.models import Claim, Dispute
from tests.factories import (
    KeyBatchFactory,
    OrderFactory,
    ProductFactory,
    SupplierFactory,
    UserFactory,
    keys_create,
)
from tests.staff import staff_login

pytestmark = pytest.mark.django_db

RIYADH = ZoneInfo("Asia/Riyadh")


@pytest.fixture(autouse=True)
def _novakeys(db):
    from policies.services import preset_load

    preset_load(slug="novakeys", activate=True)


def local(day_offset: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A moment on the store's clock, ``day_offset`` days from today (0 = today)."""
    today = timezone.now().astimezone(RIYADH).date()
    return datetime.combine(today + timedelta(days=day_offset), time(hour, minute, second), RIYADH)


def paid_order(*, total: str, paid_at: datetime, product=None, status="paid", quantity=1):
    order = OrderFactory(total=Decimal(total), status=status, paid_at=paid_at)
    if product is not None:
        OrderLine.objects.create(
            order=order,
            product=product,
            product_name=product.name,
            quantity=quantity,
            unit_price=Decimal(total),
            line_total=Decimal(total),
        )
    return order


def claim_at(*, order, reason: str, created: datetime, decided: datetime | None = None, **extra):
    claim = Claim.objects.create(
        order=order,
        order_line=order.lines.first(),
        guest_email=order.email,
        reason=reason,
        description="It fails.",
        preset_slug="novakeys",
    )
    Claim.objects.filter(pk=claim.pk).update(
        created_at=created,
        decided_at=decided,
        status="rejected" if decided else "submitted",
        **extra,
    )
    return claim


@pytest.fixture
def shop(db):
    """Known data: four paid EUR orders on known local days, a refund, claims, disputes,
    a held and a backordered order, a low-stock product and a batch with a defective key."""
    now = timezone.now()
    selling = ProductFactory(name="Office 2021", low_stock_threshold=5)
    keys_create(product=selling, count=10)
    low = ProductFactory(name="Antivirus Pro", low_stock_threshold=5)
    keys_create(product=low, count=2)

    a = paid_order(total="100.00", paid_at=local(0), product=selling)  # today, local midnight
    b = paid_order(total="50.00", paid_at=local(-1, 23, 59, 59), product=selling)  # yesterday
    paid_order(total="30.00", paid_at=local(-6, 12), product=selling)  # in 7 days
    paid_order(total="20.00", paid_at=local(-7, 23), product=selling)  # in 30, not 7
    OrderFactory(total=Decimal("999.00"))  # never paid
    paid_order(total="40.00", paid_at=local(-60), status="on_hold")
    paid_order(total="45.00", paid_at=local(-60), status="backordered")

    Refund.objects.create(order=b, amount=Decimal("18.00"), currency="EUR", reason="claim",
                          reference="r1", status="succeeded", idempotency_key="r1", gateway="test")  # fmt: skip
    Refund.objects.create(order=a, amount=Decimal("5.00"), currency="EUR", reason="claim",
                          reference="r2", status="failed", idempotency_key="r2", gateway="test")  # fmt: skip

    claim_at(order=a, reason="key_invalid", created=local(-2, 8), decided=local(-2, 12))  # 4 h
    claim_at(order=a, reason="key_invalid", created=local(-3, 8), decided=local(-3, 18))  # 10 h
    claim_at(order=a, reason="key_already_used", created=local(-1, 8), decided=local(-1, 9))  # 1 h
    claim_at(
        order=a,
        reason="key_invalid",
        created=now - timedelta(minutes=5),
        verification_due_at=now - timedelta(hours=1),
    )  # fmt: skip  (open, overdue)
    claim_at(
        order=a,
        reason="key_already_used",
        created=now - timedelta(minutes=4),
        verification_due_at=now + timedelta(hours=2),
    )  # fmt: skip  (open, due soon)
    claim_at(order=a, reason="change_of_mind", created=local(-40), decided=local(-39))

    Dispute.objects.create(order=a, stripe_dispute_id="dp_open", status="needs_response",
                           amount=Decimal("100.00"), currency="EUR",
                           evidence_due_by=now + timedelta(days=5))  # fmt: skip
    old = Dispute.objects.create(order=b, stripe_dispute_id="dp_won", status="won",
                                 amount=Decimal("50.00"), currency="EUR")  # fmt: skip
    Dispute.objects.filter(pk=old.pk).update(created_at=local(-20))

    # A batch of which 4 keys were sold and 1 came back defective: 25%.
    defective_product = ProductFactory(name="Windows 10 Home", is_active=False)
    batch = KeyBatchFactory(product=defective_product, supplier=SupplierFactory(name="Acme Keys"))
    sold = keys_create(product=defective_product, count=4, batch=batch)
    line = paid_order(total="10.00", paid_at=local(-90), product=defective_product).lines.get()
    for key in sold:
        key_transition(key=key, to_status=KeyStatus.DELIVERED, reason="sold", order_line=line)
    key_mark_defective(key=sold[0], actor=None, reason="claim: invalid")
    return {"selling": selling, "low": low, "batch": batch}


@pytest.fixture
def manager(client):
    user = UserFactory(email="manager@example.com", is_staff=True, is_superuser=True)
    return staff_login(client=client, user=user)


def kpi(html: str, name: str) -> str:
    match = re.search(rf'id="{name}">.*?<span class="ks-kpi-value">(.*?)</span>', html, re.S)
    assert match, f"no {name} on the page"
    return match.group(1).strip()


def by_id(html: str, name: str) -> str:
    match = re.search(rf'id="{name}"[^>]*>(.*?)</', html, re.S)
    assert match, f"no {name} on the page"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def todo(html: str, name: str) -> int:
    match = re.search(rf'id="{name}" href="([^"]+)"><b>(\d+)</b>', html)
    assert match, f"no {name} on the page"
    return int(match.group(2))


def test_dashboard_shows_the_last_7_store_days(manager, shop):
    html = manager.get("/admin/?period=7").content.decode()
    assert kpi(html, "kpi-revenue-EUR") == "180.00"  # 100 + 50 + 30
    assert kpi(html, "kpi-orders") == "3"
    assert kpi(html, "kpi-aov-EUR") == "60.00"
    assert kpi(html, "kpi-refunds-EUR") == "18.00"  # the failed refund does not count
    assert by_id(html, "kpi-refund-rate-EUR") == "10.0%"  # 18 / 180
    assert kpi(html, "kpi-claims") == "5 / 3"
    assert by_id(html, "kpi-median") == "4.0 h"  # median of 1, 4 and 10 hours
    assert kpi(html, "kpi-disputes") == "1"
    assert 'aria-current="page">7 days<' in html
    # The app list is still there, below.
    assert 'id="content-main"' in html and "app-orders" in html


def test_today_starts_at_midnight_in_the_store_zone(manager, shop):
    html = manager.get("/admin/?period=today").content.decode()
    assert kpi(html, "kpi-orders") == "1"  # paid at 00:00 Riyadh; 23:59:59 was yesterday
    assert kpi(html, "kpi-revenue-EUR") == "100.00"
    assert by_id(html, "kpi-refund-rate-EUR") == "18.0%"
    assert kpi(html, "kpi-claims") == "2 / 0"
    assert by_id(html, "kpi-median") == "–"


def test_30_and_90_days(manager, shop):
    html = manager.get("/admin/?period=30").content.decode()
    assert kpi(html, "kpi-revenue-EUR") == "200.00"
    assert kpi(html, "kpi-orders") == "4"
    assert kpi(html, "kpi-aov-EUR") == "50.00"
    assert kpi(html, "kpi-disputes") == "2"
    html = manager.get("/admin/?period=90").content.decode()
    # + held and backordered (60 days ago); the sale 90 days ago is day 91 counting today
    assert kpi(html, "kpi-orders") == "6"
    assert kpi(html, "kpi-revenue-EUR") == "285.00"
    assert kpi(html, "kpi-claims") == "6 / 4"


def test_what_needs_a_person_links_to_the_filtered_lists(manager, shop):
    html = manager.get("/admin/").content.decode()
    assert todo(html, "todo-held") == 1
    assert todo(html, "todo-backorders") == 1
    assert todo(html, "todo-claims-overdue") == 1
    assert todo(html, "todo-claims-soon") == 1
    assert todo(html, "todo-disputes") == 1
    assert todo(html, "todo-low-stock") == 1  # Antivirus Pro: 2 keys, threshold 5
    links = dict(re.findall(r'id="(todo-[a-z-]+)" href="([^"]+)"', html))
    for name, count in [("todo-held", 1), ("todo-claims-overdue", 1), ("todo-disputes", 1),
                        ("todo-low-stock", 1), ("todo-backorders", 1), ("todo-claims-soon", 1)]:  # fmt: skip
        page = manager.get(links[name].replace("&amp;", "&"))
        assert page.status_code == 200, name
        assert page.context["cl"].result_count == count, name


def test_charts_have_their_numbers_in_text(manager, shop):
    html = manager.get("/admin/?period=7").content.decode()
    today = timezone.now().astimezone(RIYADH).date()
    row = f"<tr><td>{dateformat.format(today, 'D j M Y')}</td><td>1</td><td>100.00</td></tr>"
    assert row in html  # sales per day
    assert html.count('class="ks-bar"><title>') == 7  # one bar per day
    reasons = re.search(r'id="chart-reasons">(.*?)</figure>', html, re.S).group(1)
    assert "The key is reported as invalid</a></td><td>3<" in reasons
    assert "The key is reported as already used</a></td><td>2<" in reasons
    defects = re.search(r'id="chart-defects">(.*?)</figure>', html, re.S).group(1)
    assert f"Acme Keys · #{shop['batch'].pk} Windows 10 Home" in defects
    assert "25.0% (1/4)" in defects
    cover = re.search(r'id="chart-cover">(.*?)</figure>', html, re.S).group(1)
    # Office 2021: 10 keys, 4 sold in 30 days -> 10 / (4 / 30) = 75 days.
    assert "Office 2021</a></td><td>75.0 days (10 keys)<" in cover
    assert "Antivirus Pro" not in cover  # nothing sold: no velocity, no cover figure
    assert "<svg" in html and "style=" not in html  # the CSP allows no style attribute


def test_dashboard_queries_do_not_grow_with_orders(manager, shop, django_assert_max_num_queries):
    from web.dashboard import dashboard_get

    def count() -> int:
        manager.get("/admin/?period=30")
        with CaptureQueriesContext(connection) as captured:
            assert manager.get("/admin/?period=30").status_code == 200
        return len(captured)

    def more_orders(n: int) -> None:
        Order.objects.bulk_create(
            Order(
                email=f"bulk{i}@example.com",
                billing_name="B",
                currency="EUR",
                total=Decimal("9.00"),
                net_total=Decimal("9.00"),
                subtotal=Decimal("9.00"),
                status="paid",
                paid_at=local(-(i % 30), 10),
            )  # fmt: skip
            for i in range(n)
        )

    more_orders(10)
    with_10 = count()
    more_orders(190)
    assert count() == with_10
    with django_assert_max_num_queries(14):
        dashboard_get(period_key="90", now=timezone.now(), tz=RIYADH)


def test_staff_who_may_not_see_orders_get_the_app_list_only(client, shop):
    from tests.staff_perms import staff_with_perms

    agent = staff_with_perms("keys.view_key", email="keys-only@example.com")
    staff_login(client=client, user=agent)
    html = client.get("/admin/").content.decode()
    assert 'id="ks-dashboard"' not in html and 'id="content-main"' in html
