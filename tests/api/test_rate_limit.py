import pytest

from api.models import Scope

from .conftest import api_key_new, auth

pytestmark = pytest.mark.django_db


def test_a_key_over_its_rate_gets_429_with_retry_after_and_others_do_not(client, settings):
    settings.API_RATE_LIMIT = 3
    settings.API_RATE_WINDOW_SECONDS = 60
    _key, raw = api_key_new(Scope.CATALOG_READ)
    _other, other_raw = api_key_new(Scope.CATALOG_READ)
    for _ in range(3):
        assert client.get("/api/v1/products/", **auth(raw)).status_code == 200
    response = client.get("/api/v1/products/", **auth(raw))
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    body = response.json()
    assert body["error"]["code"] == "throttled"
    assert body["error"]["fields"] == {}
    assert client.get("/api/v1/products/", **auth(other_raw)).status_code == 200
