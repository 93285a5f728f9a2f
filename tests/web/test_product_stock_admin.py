"""Stock at a glance on the admin's product list, and a supplier's defect rate over time."""

import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from keys.models import Key, KeyStatus
from keys.services import key_mark_defective, key_transition
from tests.factories import (
    KeyBatchFactory,
    ProductFactory,
    SupplierFactory,
    UserFactory,
    keys_create,
)
from tests.keys.conftest import order_line_new
from tests.staff import staff_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(client):
    user = UserFactory(email="manager@example.com", is_staff=True, is_superuser=True)
    return staff_login(client=client, user=user)


def _row(html: str, name: str) -> list[str]:
    row = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*?>{re.escape(name)}</a>.*?</tr>", html, re.S)
    assert row, name
    return [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), re.S)
    ]


def _sell(product, *, count: int, paid_at=None):
    """``count`` keys of ``product`` sold on one paid order line (reserved when on hold)."""
    line = order_line_new(product=product, quantity=count)
    line.order.status, line.order.paid_at = "paid", paid_at or timezone.now()
    line.order.save()
    for key in Key.objects.filter(product=product, status="available")[:count]:
        key_transition(key=key, to_status=KeyStatus.RESERVED, reason="held", order_line=line)


def test_product_list_shows_stock_reserved_and_days_of_cover(manager):
    office = ProductFactory(name="Office 2021", low_stock_threshold=3)
    keys_create(product=office, count=9)
    _sell(office, count=3)  # 6 sellable left, 3 reserved, 3 sold in 30 days: 6 / 0.1 = 60 days
    idle = ProductFactory(name="Idle Game", low_stock_threshold=5)
    keys_create(product=idle, count=2)

    html = manager.get("/admin/storefront/product/").content.decode()
    office_cells, idle_cells = _row(html, "Office 2021"), _row(html, "Idle Game")
    assert office_cells[7:10] == ["6", "3", "60.0"]
    assert idle_cells[7:10] == ["2", "0", "–"]

    low = manager.get("/admin/storefront/product/?stock=low")
    assert [p.name for p in low.context["cl"].result_list] == ["Idle Game"]
    out = manager.get("/admin/storefront/product/?stock=out")
    assert list(out.context["cl"].result_list) == []


def test_product_list_queries_do_not_grow_with_products(manager):
    def count() -> int:
        manager.get("/admin/storefront/product/")  # warm: session, permissions
        with CaptureQueriesContext(connection) as captured:
            assert manager.get("/admin/storefront/product/").status_code == 200
        return len(captured)

    for i in range(2):
        keys_create(product=ProductFactory(name=f"Small {i}"), count=2)
    few = count()
    for i in range(20):
        keys_create(product=ProductFactory(name=f"More {i}"), count=2)
    assert count() == few


def test_supplier_page_shows_the_defect_rate_per_month(manager):
    from policies.services import preset_load

    preset_load(slug="novakeys", activate=True)  # Asia/Riyadh: 31 Jan 22:00 UTC is February
    product = ProductFactory(name="Windows 11 Pro")
    supplier = SupplierFactory(name="Acme", defect_quarantine_percent=Decimal("40"))
    batch = KeyBatchFactory(product=product, supplier=supplier)
    keys = keys_create(product=product, count=5, batch=batch)
    line = order_line_new(product=product, quantity=5)
    for key in keys:
        key_transition(key=key, to_status=KeyStatus.DELIVERED, reason="sold", order_line=line)
    key_mark_defective(key=keys[0], actor=None, reason="invalid")
    key_mark_defective(key=keys[1], actor=None, reason="invalid")
    utc = ZoneInfo("UTC")
    Key.objects.filter(pk__in=[keys[0].pk, keys[2].pk]).update(
        delivered_at=datetime(2026, 1, 15, 12, tzinfo=utc)
    )
    Key.objects.filter(pk__in=[keys[1].pk, keys[3].pk, keys[4].pk]).update(
        delivered_at=datetime(2026, 1, 31, 22, tzinfo=utc)
    )

    html = manager.get(f"/admin/keys/supplier/{supplier.pk}/change/").content.decode()
    table = re.search(r'<table id="defect-history">.*?</table>', html, re.S).group(0)
    rows = [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)][:4]
        for r in re.findall(r"<tr><td>.*?</tr>", table, re.S)
    ]
    assert rows == [["2026-01", "2", "1", "50.0%"], ["2026-02", "3", "1", "33.3%"]]
    assert 'fill="#c0392b"' in table  # January is above the supplier's 40%
