"""Stock levels, low-stock alerts, batch statistics, quarantine and demo stock."""

import io
import threading
from datetime import timedelta

import pytest
from celery.signals import before_task_publish, task_postrun
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from keys.demo import demo_seed
from keys.models import Key, KeyBatch, ProductStockAlert
from keys.selectors import batch_defect_rate, batch_list_with_stats, key_available_counts
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
