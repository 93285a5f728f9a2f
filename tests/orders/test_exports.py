"""CSV exports of orders, refunds, claims and keys sold per batch: the list's filters,
only for staff with refunds.export_data, one admin log entry each, no key code, and cells
a spreadsheet never runs as formulas."""

import csv
import io

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from core.exports import csv_cell_safe
from keys.services import key_reveal
from orders.models import Order
from tests.factories import keys_create, order_delivered_new, order_new
from tests.staff import staff_login
from tests.staff_perms import staff_with_perms

VIEW_ALL = ("orders.view_order", "orders.view_refund", "refunds.view_claim", "keys.view_keybatch")


def _rows(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def exporter(client, db):
    user = staff_with_perms(*VIEW_ALL, "refunds.export_data", email="exporter@example.com")
    staff_login(client=client, user=user)
    return user


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("plain", "plain"),
        (None, ""),
    ],
)
def test_a_cell_that_would_start_a_formula_is_quoted(value, safe):
    assert csv_cell_safe(value) == safe


def test_the_order_export_applies_the_lists_filters_and_is_logged(client, exporter, stocked):
    delivered = order_delivered_new(product=stocked, email="=cmd@example.com")
    pending = order_new(product=stocked)
    url = reverse("admin:orders_order_export_csv") + "?status__exact=delivered"
    rows = _rows(client.get(url))
    assert [r["number"] for r in rows] == [delivered.number]
    assert pending.number not in str(rows)
    assert rows[0]["email"] == "'=cmd@example.com"  # formula-safe
    entry = LogEntry.objects.get(user=exporter)
    assert "Exported 1 rows as CSV" in entry.change_message
    assert "status__exact=delivered" in entry.change_message
    page = client.get(reverse("admin:orders_order_changelist") + "?status__exact=delivered")
    assert "export/csv/?status__exact=delivered" in page.content.decode()


def test_staff_without_the_export_permission_get_no_button_and_no_file(client, stocked):
    order_delivered_new(product=stocked)
    staff_login(client=client, user=staff_with_perms(*VIEW_ALL))
    page = client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert "export/csv/" not in page
    for name in ("orders_order", "orders_refund", "refunds_claim", "keys_keybatch"):
        assert client.get(reverse(f"admin:{name}_export_csv")).status_code == 403
    assert not LogEntry.objects.exists()


def test_claims_and_batches_export_without_any_key_code(client, exporter, stocked, settings):
    from policies.services import preset_load
    from tests.factories import claim_new

    settings.PAYMENT_GATEWAY = "test"
    preset_load(slug="novakeys", activate=True)
    codes = [f"AAAAA-BBBBB-CCCCC-DDDD{i}" for i in range(3)]
    batch_keys = keys_create(product=stocked, count=3, codes=codes)
    order = order_delivered_new(product=stocked, quantity=1, email="buyer@example.com")
    key = order.lines.get().keys.get()
    key_reveal(key=key, channel="account", ip="203.0.113.5", user_agent="UA", user=None)
    claim = claim_new(order=order, key=key, user=None)
    everything = ""
    for name in ("orders_order", "orders_refund", "refunds_claim", "keys_keybatch"):
        response = client.get(reverse(f"admin:{name}_export_csv"))
        assert response.status_code == 200
        text = b"".join(response.streaming_content).decode()
        everything += text
    for code in codes:
        assert code not in everything and code.replace("-", "") not in everything
    claims = _rows(client.get(reverse("admin:refunds_claim_export_csv")))
    assert [c["number"] for c in claims] == [claim.number]
    batch = batch_keys[0].batch
    [row] = [
        r
        for r in _rows(client.get(reverse("admin:keys_keybatch_export_csv")))
        if r["batch"] == str(batch.pk)
    ]
    assert row["received"] == "3" and row["sold"] == str(
        batch.keys.filter(order_line__isnull=False).count()
    )
    assert Order.objects.count() == 1
