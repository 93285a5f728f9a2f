"""A large API import through a real Celery worker consuming from Redis: the request
answers 202 at once, the task is enqueued after the commit, the worker imports, and the
job polled over the API ends imported."""

import pytest

from api.models import Scope
from keys.models import Key, KeyImport
from tests.factories import ProductFactory, key_code_new
from tests.waiting import wait_until

from .conftest import api_key_new, auth

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def test_a_large_import_job_is_run_by_a_real_worker(celery_worker_live, client, settings):
    settings.API_IMPORT_INLINE_MAX = 5
    product = ProductFactory(sku="BULK-1")
    api_key, raw = api_key_new(Scope.KEYS_IMPORT)
    codes = [key_code_new(product) for _ in range(40)]
    response = client.post(
        "/api/v1/key-imports/",
        data={"product": "BULK-1", "supplier": "Bulk", "cost_per_key": "1.00", "codes": codes},
        content_type="application/json",
        **auth(raw),
    )
    assert response.status_code == 202
    url = f"/api/v1/key-imports/{response.json()['id']}/"

    def finished():
        job = client.get(url, **auth(raw)).json()
        return job if job["done"] else None

    job = wait_until(finished, timeout=30, what="the import job to finish")
    assert job["status"] == "imported" and job["imported"] == 40
    assert Key.objects.filter(product=product).count() == 40
    assert KeyImport.objects.get(batch_id=job["batch"]).actor == api_key.user
