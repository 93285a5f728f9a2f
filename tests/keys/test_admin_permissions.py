"""Key inventory admin: quarantine, reveal and import need their permissions; each effect is
written to the admin log."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from keys.models import Key, KeyBatch, KeyView
from keys.services import key_allocate
from tests.factories import KeyBatchFactory, SupplierFactory, key_code_new, keys_create
from tests.keys.conftest import order_line_new
from tests.staff import staff_login
from tests.staff_perms import action_offered, admin_log, staff_with_perms

pytestmark = pytest.mark.django_db

BATCHES = reverse("admin:keys_keybatch_changelist")


def _quarantine(client, batch):
    form = {"action": "quarantine_batches", "_selected_action": [batch.pk]}
    return client.post(BATCHES, {**form, "apply": "1", "reason": "supplier resold them"})


def test_a_view_only_staff_member_cannot_quarantine_a_batch(client, win):
    batch = KeyBatchFactory(product=win)
    keys_create(product=win, count=2, batch=batch)
    staff_login(client=client, user=staff_with_perms("keys.view_keybatch"))
    assert not action_offered(client, changelist_url=BATCHES, action="quarantine_batches")
    assert not action_offered(client, changelist_url=BATCHES, action="lift_quarantine")
    _quarantine(client, batch)
    batch.refresh_from_db()
    assert not batch.is_quarantined and not batch.events.exists()


def test_staff_with_quarantine_batch_quarantine_and_lift_with_log_entries(client, win):
    batch = KeyBatchFactory(product=win)
    keys_create(product=win, count=2, batch=batch)
    user = staff_with_perms("keys.view_keybatch", "keys.quarantine_batch")
    staff_login(client=client, user=user)
    assert _quarantine(client, batch).status_code == 302
    batch.refresh_from_db()
    assert batch.is_quarantined
    client.post(
        BATCHES,
        {"action": "lift_quarantine", "_selected_action": [batch.pk], "apply": "1",
         "reason": "supplier confirmed"},
    )  # fmt: skip
    batch.refresh_from_db()
    assert not batch.is_quarantined
    assert sorted(admin_log(obj=batch, user=user)) == [
        "Lifted the quarantine: supplier confirmed",
        "Quarantined: supplier resold them",
    ]


@pytest.fixture
def delivered_key(win):
    code = key_code_new(win)
    keys_create(product=win, count=1, codes=[code])
    (key,) = key_allocate(order_line=order_line_new(product=win), quantity=1).keys
    return key, code


def test_a_view_only_staff_member_is_refused_the_reveal_view(client, delivered_key):
    key, code = delivered_key
    staff_login(client=client, user=staff_with_perms("keys.view_key"))
    url = reverse("admin:keys_key_reveal", args=[key.pk])
    assert client.get(url).status_code == 403
    response = client.post(url, {"reason": "curious"})
    assert response.status_code == 403 and code not in response.content.decode()
    assert not KeyView.objects.exists()


def test_a_staff_reveal_is_written_to_the_admin_log(client, delivered_key):
    key, code = delivered_key
    user = staff_with_perms("keys.view_key", "keys.reveal_key_code")
    staff_login(client=client, user=user)
    response = client.post(reverse("admin:keys_key_reveal", args=[key.pk]), {"reason": "ticket 7"})
    assert code in response.content.decode()
    assert admin_log(obj=key, user=user) == ["Revealed the code (audited): ticket 7"]


def _upload(client, win, supplier):
    upload = SimpleUploadedFile("keys.txt", f"{key_code_new(win)}\n".encode())
    return client.post(
        reverse("admin:keys_key_import"),
        {"file": upload, "format": "auto", "product": win.pk, "supplier": supplier.pk,
         "cost_per_key": "2.00", "currency": "EUR"},
    )  # fmt: skip


def test_a_view_only_staff_member_is_refused_the_import_view(client, win):
    staff_login(client=client, user=staff_with_perms("keys.view_key", "keys.view_keybatch"))
    assert client.get(reverse("admin:keys_key_import")).status_code == 403
    assert _upload(client, win, SupplierFactory(name="Acme")).status_code == 403
    assert not Key.objects.exists() and not KeyBatch.objects.exists()


def test_an_import_is_written_to_the_admin_log(client, win):
    user = staff_with_perms("keys.view_keybatch", "keys.import_keys")
    staff_login(client=client, user=user)
    assert _upload(client, win, SupplierFactory(name="Acme")).status_code == 302
    batch = KeyBatch.objects.get()
    (line,) = admin_log(obj=batch, user=user)
    assert line.startswith("Imported keys: ") and batch.keys.count() == 1
