"""Webhook endpoints managed through the API with the admin's form and audit rows."""

import pytest
from django.contrib.admin.models import LogEntry

from api.models import Scope
from webhooks.models import WebhookEndpoint

from .conftest import api_key_new, auth

pytestmark = pytest.mark.django_db


def _post(client, raw, url, body=None):
    return client.post(url, data=body or {}, content_type="application/json", **auth(raw))


def test_an_endpoint_is_created_with_its_secret_shown_once_then_listed_without(client):
    api_key, raw = api_key_new(Scope.WEBHOOKS)
    response = _post(
        client,
        raw,
        "/api/v1/webhook-endpoints/",
        {"name": "erp", "url": "http://127.0.0.1:9/hook", "events": ["order.paid", "stock.low"]},
    )
    assert response.status_code == 201
    created = response.json()
    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    assert created["secret"] == endpoint.secret
    assert endpoint.events == ["order.paid", "stock.low"]
    assert LogEntry.objects.get(object_id=str(endpoint.pk)).user == api_key.user
    listed = client.get("/api/v1/webhook-endpoints/", **auth(raw)).json()["results"]
    assert [e["id"] for e in listed] == [endpoint.pk]
    assert endpoint.secret not in str(listed)
    detail = client.get(f"/api/v1/webhook-endpoints/{endpoint.pk}/", **auth(raw))
    assert endpoint.secret not in detail.content.decode()


def test_the_admins_url_guard_refuses_a_bad_address(client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    _key, raw = api_key_new(Scope.WEBHOOKS)
    response = _post(
        client,
        raw,
        "/api/v1/webhook-endpoints/",
        {"name": "x", "url": "http://127.0.0.1:9/hook", "events": ["order.paid"]},
    )
    assert response.status_code == 400
    assert "url" in response.json()["error"]["fields"]
    assert not WebhookEndpoint.objects.exists()


def test_an_endpoint_is_disabled_enabled_and_changed(client):
    _key, raw = api_key_new(Scope.WEBHOOKS)
    endpoint = WebhookEndpoint.objects.create(
        name="a", url="http://127.0.0.1:9/hook", events=["order.paid"]
    )
    base = f"/api/v1/webhook-endpoints/{endpoint.pk}/"
    assert _post(client, raw, base + "disable/").json()["is_active"] is False
    endpoint.refresh_from_db()
    assert endpoint.disabled_reason == "disabled through the API"
    assert _post(client, raw, base + "enable/").json()["is_active"] is True
    response = client.patch(
        base, data={"events": ["claim.opened"]}, content_type="application/json", **auth(raw)
    )
    assert response.status_code == 200 and response.json()["events"] == ["claim.opened"]
    assert response.json()["name"] == "a"
