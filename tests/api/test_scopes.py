"""Every endpoint, with each scope: allowed with it, 403 without it, 401 with no key."""

import pytest

from api.models import Scope

from .conftest import api_key_new, auth

# (name, method, url from the shop fixture, body, the scopes it needs, success status)
ENDPOINTS = [
    ("products list", "get", lambda w: "/api/v1/products/", None, [Scope.CATALOG_READ], 200),
    (
        "product detail",
        "get",
        lambda w: f"/api/v1/products/{w['product'].pk}/",
        None,
        [Scope.CATALOG_READ],
        200,
    ),
    (
        "product update",
        "patch",
        lambda w: f"/api/v1/products/{w['product'].pk}/",
        {"price": "24.90"},
        [Scope.STOCK_WRITE],
        200,
    ),
    ("batches list", "get", lambda w: "/api/v1/batches/", None, [Scope.CATALOG_READ], 200),
    (
        "batch detail",
        "get",
        lambda w: f"/api/v1/batches/{w['batch'].pk}/",
        None,
        [Scope.CATALOG_READ],
        200,
    ),
    (
        "batch quarantine",
        "post",
        lambda w: f"/api/v1/batches/{w['batch'].pk}/quarantine/",
        {"reason": "supplier recalled"},
        [Scope.STOCK_WRITE],
        200,
    ),
    (
        "batch lift quarantine",
        "post",
        lambda w: f"/api/v1/batches/{w['batch'].pk}/lift-quarantine/",
        {"reason": "false alarm"},
        [Scope.STOCK_WRITE],
        200,
    ),
    ("import list", "get", lambda w: "/api/v1/key-imports/", None, [Scope.KEYS_IMPORT], 200),
    (
        "import create",
        "post",
        lambda w: "/api/v1/key-imports/",
        {"product": "WIN11PRO", "supplier": "Acme", "cost_per_key": "3.00", "codes": ["X"]},
        [Scope.KEYS_IMPORT],
        201,
    ),
    ("orders list", "get", lambda w: "/api/v1/orders/", None, [Scope.ORDERS_READ], 200),
    (
        "order detail",
        "get",
        lambda w: f"/api/v1/orders/{w['order'].number}/",
        None,
        [Scope.ORDERS_READ],
        200,
    ),
    (
        "order key codes",
        "get",
        lambda w: f"/api/v1/orders/{w['order'].number}/keys/",
        None,
        [Scope.ORDERS_READ, Scope.KEYS_REVEAL],
        200,
    ),
    ("refunds list", "get", lambda w: "/api/v1/refunds/", None, [Scope.ORDERS_READ], 200),
    ("claims list", "get", lambda w: "/api/v1/claims/", None, [Scope.CLAIMS], 200),
    (
        "claim detail",
        "get",
        lambda w: f"/api/v1/claims/{w['claim'].number}/",
        None,
        [Scope.CLAIMS],
        200,
    ),
    (
        "claim message",
        "post",
        lambda w: f"/api/v1/claims/{w['claim'].number}/messages/",
        {"body": "Could you send a screenshot of the activation error?"},
        [Scope.CLAIMS],
        201,
    ),
]
ENDPOINTS += [
    ("webhooks list", "get", lambda w: "/api/v1/webhook-endpoints/", None, [Scope.WEBHOOKS], 200),
    (
        "webhook create",
        "post",
        lambda w: "/api/v1/webhook-endpoints/",
        {"name": "erp", "url": "http://127.0.0.1:9/hook", "events": ["order.paid"]},
        [Scope.WEBHOOKS],
        201,
    ),
    (
        "webhook disable",
        "post",
        lambda w: f"/api/v1/webhook-endpoints/{w['endpoint'].pk}/disable/",
        None,
        [Scope.WEBHOOKS],
        200,
    ),
]
IDS = [e[0] for e in ENDPOINTS]


def _call(client, method, url, body, headers):
    if body is None:
        return getattr(client, method)(url, **headers)
    return getattr(client, method)(url, data=body, content_type="application/json", **headers)


def _assert_error_shape(response, code):
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]


@pytest.mark.parametrize(("name", "method", "url", "body", "scopes", "ok"), ENDPOINTS, ids=IDS)
def test_endpoint_answers_with_exactly_its_scopes(
    client, shop, name, method, url, body, scopes, ok
):
    _key, raw = api_key_new(*scopes)
    response = _call(client, method, url(shop), body, auth(raw))
    assert response.status_code == ok, response.content
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(("name", "method", "url", "body", "scopes", "ok"), ENDPOINTS, ids=IDS)
def test_endpoint_refuses_a_key_missing_one_of_its_scopes_with_403(
    client, shop, name, method, url, body, scopes, ok
):
    for missing in scopes:
        others = [s for s in Scope.values if s != missing]
        _key, raw = api_key_new(*others)
        response = _call(client, method, url(shop), body, auth(raw))
        assert response.status_code == 403, response.content
        _assert_error_shape(response, "permission_denied")
        assert missing in response.json()["error"]["message"]


@pytest.mark.parametrize(("name", "method", "url", "body", "scopes", "ok"), ENDPOINTS, ids=IDS)
def test_endpoint_without_a_key_is_401(client, shop, name, method, url, body, scopes, ok):
    response = _call(client, method, url(shop), body, {})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    _assert_error_shape(response, "not_authenticated")


def test_a_refused_write_changes_nothing(client, shop):
    _key, raw = api_key_new(Scope.CATALOG_READ)
    product = shop["product"]
    response = client.patch(
        f"/api/v1/products/{product.pk}/",
        data={"price": "1.00"},
        content_type="application/json",
        **auth(raw),
    )
    assert response.status_code == 403
    product.refresh_from_db()
    assert str(product.price) == "29.90"
