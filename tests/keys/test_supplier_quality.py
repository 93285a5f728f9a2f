"""Supplier quality: a batch whose confirmed-defect rate reaches its supplier's threshold is
quarantined automatically (with staff told why), never on a sample below the minimum."""

from decimal import Decimal

import pytest

from keys.models import KeyBatch, KeyBatchEvent, KeyStatus
from keys.selectors import key_available_counts
from keys.services import key_mark_defective, key_transition
from tests.factories import KeyBatchFactory, SupplierFactory, keys_create
from tests.keys.conftest import order_line_new

pytestmark = pytest.mark.django_db


def _batch_with_sold(*, product, supplier, sold: int, unsold: int):
    batch = KeyBatchFactory(product=product, supplier=supplier)
    keys = keys_create(product=product, count=sold + unsold, batch=batch)
    for key in keys[:sold]:
        key_transition(
            key=key,
            to_status=KeyStatus.DELIVERED,
            reason="sold",
            order_line=order_line_new(product=product),
        )
    return batch, keys[:sold]


def _staff_alerts(kind: str):
    from core.models import StaffAlert

    return list(StaffAlert.objects.filter(kind=kind))


def test_batch_is_quarantined_when_the_defect_rate_reaches_the_supplier_threshold(win):
    supplier = SupplierFactory(
        name="Shady Keys", defect_quarantine_percent=Decimal("20.00"), defect_min_sample=10
    )
    batch, sold = _batch_with_sold(product=win, supplier=supplier, sold=10, unsold=3)
    assert key_available_counts(product_ids=[win.pk]) == {win.pk: 3}

    key_mark_defective(key=sold[0], actor=None, reason="claim CL-1: invalid")  # 1/10 = 10%
    batch.refresh_from_db()
    assert not batch.is_quarantined
    assert _staff_alerts("batch_quarantined") == []

    key_mark_defective(key=sold[1], actor=None, reason="claim CL-2: invalid")  # 2/10 = 20%
    batch.refresh_from_db()
    assert batch.is_quarantined
    assert "2 of 10 sold keys confirmed defective (20.0%)" in batch.quarantine_reason
    event = batch.events.get()
    assert event.reason == batch.quarantine_reason
    assert event.kind == KeyBatchEvent.Kind.QUARANTINED and event.actor is None
    assert event.data == {
        "automatic": True,
        "defective": 2,
        "sold": 10,
        "threshold_percent": "20.00",
        "min_sample": 10,
    }
    # Unsold keys are no longer sold.
    assert key_available_counts(product_ids=[win.pk]) == {}
    [alert] = _staff_alerts("batch_quarantined")
    assert f"Batch #{batch.pk} quarantined" in alert.subject and "Shady Keys" in alert.subject

    key_mark_defective(key=sold[2], actor=None, reason="claim CL-3: invalid")  # stays, once
    assert len(_staff_alerts("batch_quarantined")) == 1
    assert batch.events.count() == 1


def test_one_defective_key_out_of_one_sold_is_below_the_minimum_sample(win):
    supplier = SupplierFactory(
        name="Tiny Sample", defect_quarantine_percent=Decimal("10.00"), defect_min_sample=5
    )
    batch, sold = _batch_with_sold(product=win, supplier=supplier, sold=1, unsold=2)
    key_mark_defective(key=sold[0], actor=None, reason="invalid")  # 100%, but 1 < 5
    assert not KeyBatch.objects.get(pk=batch.pk).is_quarantined
    assert key_available_counts(product_ids=[win.pk]) == {win.pk: 2}


def test_a_supplier_without_a_threshold_is_never_quarantined_automatically(win):
    supplier = SupplierFactory(name="Trusted", defect_quarantine_percent=None, defect_min_sample=1)
    batch, sold = _batch_with_sold(product=win, supplier=supplier, sold=2, unsold=0)
    key_mark_defective(key=sold[0], actor=None, reason="invalid")
    key_mark_defective(key=sold[1], actor=None, reason="invalid")
    assert not KeyBatch.objects.get(pk=batch.pk).is_quarantined


def test_supplier_threshold_is_a_percentage_between_0_and_100(db):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        SupplierFactory(name="Bad", defect_quarantine_percent=Decimal("150"))
    with pytest.raises(IntegrityError), transaction.atomic():
        SupplierFactory(name="Bad sample", defect_min_sample=0)
