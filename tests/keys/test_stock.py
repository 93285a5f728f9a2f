"""Stock levels, low-stock alerts, batch statistics, quarantine and demo stock."""

import io
import re
import threading
from datetime import timedelta

import pytest
from celery.signals import before_task_publish, task_postrun
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from keys.demo import demo_seed
from keys.models import Key, KeyBatch, ProductStockAlert
from keys.selectors import (
    batch_defect_rate,
    batch_list_with_stats,
    batch_stats_get,
    key_available_counts,
)
from keys.services import (
    STOCK_CHECK_WINDOW_SECONDS,
    batch_quarantine,
    key_allocate,
    key_mark_defective,
    key_revoke_for_order,
)
from tests.factories import KeyBatchFactory, ProductFactory, keys_create
from tests.keys.conftest import order_line_new
from tests.staff import staff_login

pytestmark = pytest.mark.django_db


def test_available_counts_take_one_query_and_count_only_sellable_keys(
    win, django_assert_num_queries
):
    other = ProductFactory()
    keys_create(product=win, count=4)
    keys_create(product=other, count=2)
    quarantined = KeyBatchFactory(product=win)
    keys_create(product=win, count=3, batch=quarantined)
    batch_quarantine(batch=quarantined, reason="recall", actor=None)
    keys_create(
        product=win, count=2, batch=KeyBatchFactory(product=win, expires_on=timezone.localdate())
    )
    key_allocate(order_line=order_line_new(product=win), quantity=1)
    empty = ProductFactory()

    with django_assert_num_queries(1):
        counts = key_available_counts(product_ids=[win.pk, other.pk, empty.pk])

    assert counts == {win.pk: 3, other.pk: 2}


def test_the_catalog_shows_stock_from_the_inventory(client, win):
    assert "Out of stock" in client.get(win.get_absolute_url()).content.decode()
    keys_create(product=win, count=8)
    assert "In stock" in client.get(win.get_absolute_url()).content.decode()


def _sell(product, n, capture):
    for _ in range(n):
        with capture(execute=True):
            assert key_allocate(order_line=order_line_new(product=product), quantity=1).ok


def test_staff_are_emailed_once_per_crossing_below_the_threshold(
    win, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    with capture(execute=True):
        keys_create(product=win, count=4)  # threshold is 2
    _sell(win, 1, capture)  # 3 left
    assert mail.outbox == []

    _sell(win, 1, capture)  # 2 left: crossed
    assert len(mail.outbox) == 1
    assert "Low stock: Windows 11 Pro (2 left)" in mail.outbox[0].subject
    _sell(win, 2, capture)  # 1, then 0 left: still below, no new email
    assert len(mail.outbox) == 1

    with capture(execute=True):
        keys_create(product=win, count=5)  # back above: re-armed
    assert ProductStockAlert.objects.get(product=win).below is False
    _sell(win, 3, capture)  # 2 left: a new crossing
    assert len(mail.outbox) == 2


def test_batch_statistics_count_received_sold_defective_and_the_defect_rate(win):
    batch = KeyBatchFactory(product=win)
    keys_create(product=win, count=10, batch=batch)
    line = order_line_new(product=win, quantity=4)
    sold = key_allocate(order_line=line, quantity=4).keys
    key_mark_defective(key=sold[0], actor=None, reason="already used")
    unsold = Key.objects.filter(batch=batch, status="available").first()
    key_mark_defective(key=unsold, actor=None, reason="staff test failed")
    key_allocate(order_line=order_line_new(product=win), quantity=1, status="reserved")

    row = batch_list_with_stats(queryset=KeyBatch.objects.filter(pk=batch.pk)).get()

    assert (row.received, row.sold, row.defective, row.reserved, row.unsold) == (10, 4, 2, 1, 4)
    assert batch_defect_rate(received=row.received, defective=row.defective) == pytest.approx(0.2)


def test_quarantine_from_the_admin_withdraws_unsold_keys_with_a_reason(client, staff_user, win):
    batch = KeyBatchFactory(product=win)
    keys_create(product=win, count=3, batch=batch)
    staff_login(client=client, user=staff_user)
    url = reverse("admin:keys_keybatch_changelist")
    form = {"action": "quarantine_batches", "_selected_action": [batch.pk]}

    confirm = client.post(url, form)
    assert confirm.status_code == 200 and "Reason" in confirm.content.decode()
    done = client.post(url, {**form, "apply": "1", "reason": "supplier says keys were resold"})

    assert done.status_code == 302
    batch.refresh_from_db()
    assert batch.is_quarantined and batch.quarantine_reason == "supplier says keys were resold"
    assert batch.events.get().actor == staff_user
    assert key_available_counts(product_ids=[win.pk]) == {}
    assert not key_allocate(order_line=order_line_new(product=win), quantity=1).ok
    listing = client.get(url).content.decode()
    assert "0.0%" in listing


def test_batch_admin_pages_render_with_stats_and_import_link(client, staff_user, win):
    batch = KeyBatchFactory(product=win)
    keys_create(product=win, count=2, batch=batch)
    staff_login(client=client, user=staff_user)
    page = client.get(reverse("admin:keys_keybatch_change", args=[batch.pk])).content.decode()
    assert f"?product={win.pk}&amp;batch={batch.pk}" in page
    imports = client.get(reverse("admin:keys_key_import"), {"product": win.pk, "batch": batch.pk})
    assert f'<option value="{batch.pk}" selected>' in imports.content.decode()


def test_revoked_keys_of_an_order_stay_out_of_stock(win):
    keys_create(product=win, count=2)
    line = order_line_new(product=win)
    key_allocate(order_line=line, quantity=1)
    key_revoke_for_order(order=line.order, reason="refund")
    assert key_available_counts(product_ids=[win.pk]) == {win.pk: 1}


def test_demo_seed_tops_every_product_up_and_is_safe_to_run_twice():
    from catalog.models import Category, Product
    from web.demo import CATEGORIES, PRODUCTS, product_defaults

    categories = {
        slug: Category.objects.create(slug=slug, name=name) for slug, name, _ in CATEGORIES
    }
    for spec in PRODUCTS:
        Product.objects.create(
            sku=spec["sku"], **product_defaults(spec, category=categories[spec["category"]])
        )
    ids = list(Product.objects.values_list("pk", flat=True))

    demo_seed(stdout=io.StringIO(), keys_per_product=3)
    key_allocate(
        order_line=order_line_new(product=Product.objects.get(sku="WIN11-PRO")), quantity=2
    )
    out = io.StringIO()
    demo_seed(stdout=out, keys_per_product=3)

    assert key_available_counts(product_ids=ids) == dict.fromkeys(ids, 3)
    assert "2 demo keys added" in out.getvalue()
    assert KeyBatch.objects.filter(supplier__name="Demo supplier").count() == len(ids)


def test_keys_of_an_expiring_batch_leave_the_shelf_on_their_expiry_day(win):
    batch = KeyBatchFactory(product=win, expires_on=timezone.localdate() + timedelta(days=1))
    keys_create(product=win, count=1, batch=batch)
    assert key_available_counts(product_ids=[win.pk]) == {win.pk: 1}
    KeyBatch.objects.filter(pk=batch.pk).update(expires_on=timezone.localdate())
    assert key_available_counts(product_ids=[win.pk]) == {}


@pytest.mark.parametrize(
    "name",
    [
        "admin:keys_supplier_changelist",
        "admin:keys_keybatch_changelist",
        "admin:keys_keybatch_add",
        "admin:keys_key_changelist",
        "admin:keys_keyimport_changelist",
        "admin:keys_key_import",
    ],
)
def test_every_key_inventory_admin_page_renders_for_staff(client, staff_user, win, name):
    keys_create(product=win, count=2)
    staff_login(client=client, user=staff_user)
    assert client.get(reverse(name)).status_code == 200


@pytest.fixture
def five_keys_before_the_worker(win):
    """Stock imported while tasks still run in-process: its own check is done at once."""
    keys_create(product=win, count=5)  # threshold is 2
    return win


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_burst_of_sales_is_checked_once_after_it_and_the_crossing_is_not_missed(
    five_keys_before_the_worker, celery_worker_live
):
    """With a real worker, many sales in a few seconds schedule one stock check that runs
    after the burst, and it still sees the crossing made by the burst's last sale."""
    win = five_keys_before_the_worker
    check = "keys.tasks.keys_stock_check"
    published: list[dict] = []
    results: list[bool] = []
    done = threading.Event()
    sent = threading.Event()

    def on_publish(sender=None, headers=None, **kwargs):
        if sender == check:
            published.append(headers)

    def on_postrun(sender=None, args=None, retval=None, **kwargs):
        if sender.name == check and list(args or ()) == [win.pk]:  # not a stale message
            results.append(retval)
            done.set()
        elif sender.name == "core.tasks.outbox_send_task":
            sent.set()

    before_task_publish.connect(on_publish, weak=False)
    task_postrun.connect(on_postrun, weak=False)
    try:
        mail.outbox.clear()
        for _ in range(3):  # 4, 3, then 2 left: the last sale of the burst crosses
            assert key_allocate(order_line=order_line_new(product=win), quantity=1).ok
        assert len(published) == 1, published  # one check for the whole burst...
        assert published[0]["eta"]  # ...scheduled for after the window, not at once
        assert done.wait(timeout=STOCK_CHECK_WINDOW_SECONDS + 30)
        assert results == [True]  # it ran once, after the burst, and saw the crossing
        assert sent.wait(timeout=30)  # the alert leaves through the outbox task
    finally:
        before_task_publish.disconnect(on_publish)
        task_postrun.disconnect(on_postrun)
    assert [m.subject for m in mail.outbox] == ["[Keystore] Low stock: Windows 11 Pro (2 left)"]


def _batches_in_every_state(win) -> list[KeyBatch]:
    """Three batches: one with keys in every status (sold, reserved, defective, revoked,
    available), one with available keys only, one empty."""
    mixed, fresh, empty = (KeyBatchFactory(product=win, reference=f"b{i}") for i in range(3))
    keys_create(product=win, count=9, batch=mixed)
    sold = key_allocate(order_line=order_line_new(product=win, quantity=4), quantity=4).keys
    key_mark_defective(key=sold[0], actor=None, reason="already used")
    key_revoke_for_order(order=sold[1].order_line.order, actor=None, reason="refunded")
    unsold = Key.objects.filter(batch=mixed, status="available").first()
    key_mark_defective(key=unsold, actor=None, reason="staff test failed")
    key_allocate(order_line=order_line_new(product=win), quantity=1, status="reserved")
    keys_create(product=win, count=3, batch=fresh)
    return [mixed, fresh, empty]


COUNTS = ("received", "sold", "reserved", "defective", "unsold")


def test_the_counts_of_a_page_of_batches_come_from_one_query_and_equal_the_annotated_ones(
    win, django_assert_num_queries
):
    batches = _batches_in_every_state(win)
    ids = [b.pk for b in batches]
    with django_assert_num_queries(1):
        stats = batch_stats_get(batch_ids=ids)

    for row in batch_list_with_stats(queryset=KeyBatch.objects.filter(pk__in=ids)):
        assert tuple(getattr(stats[row.pk], n) for n in COUNTS) == tuple(
            getattr(row, n) for n in COUNTS
        ), row.reference
    assert tuple(getattr(stats[batches[0].pk], n) for n in COUNTS) == (9, 4, 1, 2, 3)
    assert tuple(getattr(stats[batches[2].pk], n) for n in COUNTS) == (0, 0, 0, 0, 0)


LISTED = ("received_count", "sold_count", "defective_count", "defect_rate", "unsold_count")


def _list_rows(page: str) -> list[tuple[str, ...]]:
    """The batch list's rows in order: each batch's id, then its listed count cells."""
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", page, re.S):
        cells = dict(re.findall(r'class="field-(\w+)[^"]*">(.*?)</t[dh]>', row, re.S))
        if "received_count" in cells:
            batch_id = re.search(r"#(\d+) ", cells["__str__"]).group(1)
            rows.append((batch_id, *(cells[name] for name in LISTED)))
    return rows


def _expected(batch) -> tuple[str, ...]:
    rate = batch_defect_rate(received=batch.received, defective=batch.defective)
    return (str(batch.pk), str(batch.received), str(batch.sold), str(batch.defective),
            f"{rate:.1%}", str(batch.unsold))  # fmt: skip


def test_the_batch_list_shows_each_batchs_counts_also_sorted_by_them_and_on_its_page(
    client, staff_user, win
):
    batches = _batches_in_every_state(win)
    annotated = {
        b.pk: b
        for b in batch_list_with_stats(
            queryset=KeyBatch.objects.filter(pk__in=[b.pk for b in batches])
        )
    }
    expected = {str(pk): _expected(b) for pk, b in annotated.items()}
    staff_login(client=client, user=staff_user)
    url = reverse("admin:keys_keybatch_changelist")
    page = client.get(url).content.decode()
    rows = _list_rows(page)
    assert {row[0]: row for row in rows if row[0] in expected} == expected

    # sorted by "received" both ways (the header's own links): the counts order the rows
    sort = re.search(r'column-received_count">.*?href="\?o=([\d.\-]+)"', page, re.S).group(1)
    for order in (sort, f"-{sort}"):
        sorted_rows = [r for r in _list_rows(client.get(url, {"o": order}).content.decode())
                       if r[0] in expected]  # fmt: skip
        assert sorted_rows == sorted(sorted_rows, key=lambda r: int(r[1]),
                                     reverse=order.startswith("-"))  # fmt: skip
        assert {r[0]: r for r in sorted_rows} == expected

    mixed = annotated[batches[0].pk]
    change = client.get(reverse("admin:keys_keybatch_change", args=[mixed.pk])).content.decode()
    for name, value in (("received_count", 9), ("sold_count", 4), ("reserved_count", 1),
                        ("defective_count", 2), ("unsold_count", 3)):  # fmt: skip
        assert re.search(rf'field-{name}.*?<div class="readonly">{value}</div>', change, re.S), name


def test_the_batch_list_counts_its_page_in_one_grouped_query_not_per_row(client, staff_user, win):
    _batches_in_every_state(win)
    staff_login(client=client, user=staff_user)
    url = reverse("admin:keys_keybatch_changelist")
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    batch_queries = [q["sql"] for q in captured.captured_queries
                     if q["sql"].startswith('SELECT "keys_keybatch"."id"')]  # fmt: skip
    key_counts = [q["sql"] for q in captured.captured_queries if "GROUP BY" in q["sql"]
                  and 'FROM "keys_key"' in q["sql"]]  # fmt: skip
    assert batch_queries and all('FROM "keys_key"' not in sql for sql in batch_queries)
    assert len(key_counts) == 1


def test_the_key_list_names_each_batch_from_one_query_beside_the_page(client, staff_user, win):
    batches = _batches_in_every_state(win)
    staff_login(client=client, user=staff_user)
    url = reverse("admin:keys_key_changelist")
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        page = client.get(url).content.decode()
    [keys_query] = [q["sql"] for q in captured.captured_queries
                    if q["sql"].startswith('SELECT "keys_key"."id"')]  # fmt: skip
    assert '"keys_keybatch"' not in keys_query  # no batch, supplier, batch product joins
    for batch in batches[:2]:
        assert f'<td class="field-batch nowrap">{batch}</td>' in page.replace("&#x27;", "'")
