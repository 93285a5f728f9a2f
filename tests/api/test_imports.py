"""Key imports through the API: the admin's validation and all-or-nothing rule, inline
for small files, as a polled job for large ones."""

import pytest
from django.contrib.admin.models import LogEntry
from django.test import TestCase

from api.models import ImportJob, Scope
from keys.models import Key, KeyBatch, KeyImport
from tests.factories import KeyBatchFactory, ProductFactory, key_code_new

from .conftest import api_key_new, auth

pytestmark = pytest.mark.django_db

WINDOWS_FORMAT = r"^[A-Z0-9]{5}(-[A-Z0-9]{5}){4}$"


@pytest.fixture
def win():
    return ProductFactory(sku="WIN11PRO", key_format=WINDOWS_FORMAT)


def _post(client, raw, body):
    return client.post(
        "/api/v1/key-imports/", data=body, content_type="application/json", **auth(raw)
    )


def test_a_small_import_runs_at_once_into_a_new_batch_with_the_key_as_actor(client, win):
    api_key, raw = api_key_new(Scope.KEYS_IMPORT)
    codes = [key_code_new(win) for _ in range(3)]
    response = _post(
        client,
        raw,
        {"product": "WIN11PRO", "supplier": "Acme Keys", "cost_per_key": "4.10", "codes": codes},
    )
    assert response.status_code == 201, response.content
    job = response.json()
    assert job["status"] == "imported" and job["done"] is True
    assert job["imported"] == 3 and job["bad_lines"] == 0 and job["errors"] == []
    batch = KeyBatch.objects.get(pk=job["batch"])
    assert batch.supplier.name == "Acme Keys" and str(batch.cost_per_key) == "4.10"
    assert Key.objects.filter(batch=batch).count() == 3
    run = KeyImport.objects.get(batch=batch)
    assert run.actor == api_key.user
    assert LogEntry.objects.filter(user=api_key.user, object_id=str(batch.pk)).exists()
    assert ImportJob.objects.get(pk=job["id"]).payload == ""  # codes are not kept


def test_bad_lines_reject_the_whole_import_each_reported_by_number(client, win):
    api_key, raw = api_key_new(Scope.KEYS_IMPORT)
    batch = KeyBatchFactory(product=win)
    good = key_code_new(win)
    response = _post(
        client,
        raw,
        {"product": "WIN11PRO", "batch": batch.pk, "codes": [good, "not-a-key", "", good]},
    )
    assert response.status_code == 201
    job = response.json()
    assert job["status"] == "rejected" and job["done"] is True
    assert job["imported"] == 0 and job["bad_lines"] == 3
    assert [e["line"] for e in job["errors"]] == [2, 3, 4]
    assert "duplicate of line 1" in job["errors"][2]["reason"]
    assert not Key.objects.filter(product=win).exists()
    assert KeyImport.objects.get(batch=batch).outcome == KeyImport.Outcome.REJECTED


def test_a_csv_import_uses_its_code_column(client, win):
    _key, raw = api_key_new(Scope.KEYS_IMPORT)
    codes = [key_code_new(win) for _ in range(2)]
    csv = "order,code\n" + "".join(f"{i},{c}\n" for i, c in enumerate(codes))
    response = _post(
        client, raw, {"product": "WIN11PRO", "supplier": "Acme", "cost_per_key": "1", "csv": csv}
    )
    assert response.json()["imported"] == 2


def test_a_large_import_is_a_job_that_runs_on_commit_and_is_polled(client, win, settings):
    settings.API_IMPORT_INLINE_MAX = 2
    api_key, raw = api_key_new(Scope.KEYS_IMPORT)
    codes = [key_code_new(win) for _ in range(5)]
    with TestCase.captureOnCommitCallbacks(execute=False) as callbacks:
        response = _post(
            client,
            raw,
            {"product": "WIN11PRO", "supplier": "Bulk", "cost_per_key": "2", "codes": codes},
        )
    assert response.status_code == 202
    job_id = response.json()["id"]
    polled = client.get(f"/api/v1/key-imports/{job_id}/", **auth(raw)).json()
    assert polled["status"] == "queued" and polled["done"] is False
    assert polled["lines_total"] == 5
    stored = ImportJob.objects.get(pk=job_id).payload
    assert stored and not any(code in stored for code in codes)  # waiting encrypted
    assert not Key.objects.filter(product=win).exists()
    for callback in callbacks:  # the commit: the task runs (eagerly in tests)
        callback()
    polled = client.get(f"/api/v1/key-imports/{job_id}/", **auth(raw)).json()
    assert polled["status"] == "imported" and polled["imported"] == 5 and polled["done"]
    assert Key.objects.filter(product=win).count() == 5
    assert KeyImport.objects.get(batch_id=polled["batch"]).actor == api_key.user


def test_a_large_job_with_a_bad_line_stores_nothing_and_lists_the_line(client, win, settings):
    settings.API_IMPORT_INLINE_MAX = 2
    _key, raw = api_key_new(Scope.KEYS_IMPORT)
    codes = [key_code_new(win) for _ in range(4)]
    codes[2] = "XXXXX"
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = _post(
            client,
            raw,
            {"product": "WIN11PRO", "supplier": "Bulk", "cost_per_key": "2", "codes": codes},
        )
    assert response.status_code == 202
    polled = client.get(f"/api/v1/key-imports/{response.json()['id']}/", **auth(raw)).json()
    assert polled["status"] == "rejected"
    assert polled["errors"] == [{"line": 3, "reason": "does not match this product's key format"}]
    assert not Key.objects.exists()
    assert not KeyBatch.objects.exists()  # a rejected new batch is not left behind


def test_running_a_job_twice_imports_once(client, win, settings):
    from api.services import import_job_run

    settings.API_IMPORT_INLINE_MAX = 0
    _key, raw = api_key_new(Scope.KEYS_IMPORT)
    with TestCase.captureOnCommitCallbacks(execute=True):
        job_id = _post(
            client,
            raw,
            {
                "product": "WIN11PRO",
                "supplier": "B",
                "cost_per_key": "2",
                "codes": [key_code_new(win)],
            },
        ).json()["id"]
    assert import_job_run(job_id=job_id).status == "imported"
    assert Key.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"product": "NOPE", "supplier": "A", "cost_per_key": "1", "codes": ["A"]}, "product"),
        ({"product": "WIN11PRO", "codes": ["A"]}, "supplier"),
        ({"product": "WIN11PRO", "supplier": "A", "codes": ["A"]}, "cost_per_key"),
        ({"product": "WIN11PRO", "supplier": "A", "cost_per_key": "1"}, "codes"),
        (
            {
                "product": "WIN11PRO",
                "supplier": "A",
                "cost_per_key": "1",
                "codes": ["A"],
                "csv": "A",
            },
            "codes",
        ),
    ],
)
def test_an_invalid_import_request_is_400_naming_the_field(client, win, body, field):
    _key, raw = api_key_new(Scope.KEYS_IMPORT)
    response = _post(client, raw, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert not ImportJob.objects.exists()


def test_a_batch_of_another_product_is_refused(client, win):
    _key, raw = api_key_new(Scope.KEYS_IMPORT)
    other = KeyBatchFactory()
    response = _post(client, raw, {"product": "WIN11PRO", "batch": other.pk, "codes": ["A"]})
    assert response.status_code == 400
    assert "batch" in response.json()["error"]["fields"]


def test_import_jobs_of_other_keys_are_not_visible(client, win):
    _a, raw_a = api_key_new(Scope.KEYS_IMPORT)
    _b, raw_b = api_key_new(Scope.KEYS_IMPORT)
    job = _post(
        client, raw_a, {"product": "WIN11PRO", "supplier": "A", "cost_per_key": "1", "codes": ["A"]}
    ).json()
    assert client.get(f"/api/v1/key-imports/{job['id']}/", **auth(raw_b)).status_code == 404


def test_an_over_long_code_is_reported_by_line_like_the_admin(client, win):
    _key, raw = api_key_new(Scope.KEYS_IMPORT)
    codes = [key_code_new(win), "A" * 300]
    job = _post(
        client, raw, {"product": "WIN11PRO", "supplier": "A", "cost_per_key": "1", "codes": codes}
    ).json()
    assert job["status"] == "rejected"
    assert job["errors"] == [{"line": 2, "reason": "longer than 200 characters"}]


def test_a_code_item_with_a_line_break_is_refused_before_anything_is_recorded(client, win):
    _key, raw = api_key_new(Scope.KEYS_IMPORT)
    codes = [key_code_new(win), f"{key_code_new(win)}\n{key_code_new(win)}"]
    response = _post(
        client, raw, {"product": "WIN11PRO", "supplier": "A", "cost_per_key": "1", "codes": codes}
    )
    assert response.status_code == 400
    assert "items 2" in response.json()["error"]["fields"]["codes"][0]
    assert not ImportJob.objects.exists()


def test_a_body_over_the_limit_is_413_in_the_error_shape(client, win, settings):
    settings.API_MAX_BODY_BYTES = 1000
    _key, raw = api_key_new(Scope.KEYS_IMPORT)
    codes = [key_code_new(win) for _ in range(60)]
    response = _post(
        client, raw, {"product": "WIN11PRO", "supplier": "A", "cost_per_key": "1", "codes": codes}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert not ImportJob.objects.exists()
