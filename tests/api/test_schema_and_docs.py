"""The OpenAPI document, the docs page under the shop's CSP, JSON errors under /api/."""

import re

import pytest

from api.errors import api_exception_handler

pytestmark = pytest.mark.django_db


def test_the_openapi_document_is_served_and_documents_auth_pagination_filters_ordering(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.")
    assert doc["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    orders = doc["paths"]["/api/v1/orders/"]["get"]
    names = {p["name"] for p in orders["parameters"]}
    assert {"page", "ordering", "status", "email", "created_after", "created_before"} <= names
    assert set(orders["responses"]) >= {"200", "400", "401", "403", "429"}
    assert "Error" in doc["components"]["schemas"]
    assert "/api/v1/key-imports/{id}/" in doc["paths"]


def test_the_docs_page_loads_only_self_hosted_assets_with_nothing_inline(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    html = response.content.decode()
    assert "<style" not in html and " style=" not in html
    assert re.search(r"<script>(?!</script>)", html) is None  # no inline script body
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls)
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        if hasattr(asset, "streaming_content"):
            b"".join(asset.streaming_content)
    script = next(u for u in urls if "script=" in u)
    js = client.get(script)
    assert js["Content-Type"].startswith("application/javascript")
    assert b"/api/v1/openapi.json" in js.content


def test_an_unknown_api_path_is_a_json_404_and_other_pages_are_not(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "No API endpoint here.", "fields": {}}
    }
    assert not client.get("/no-such-page/")["Content-Type"].startswith("application/json")


def test_a_wrong_method_is_a_json_405(client):
    from api.models import Scope

    from .conftest import api_key_new, auth

    _key, raw = api_key_new(Scope.CATALOG_READ)
    response = client.delete("/api/v1/products/", **auth(raw))
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_an_unexpected_error_is_a_json_500_in_the_same_shape():
    response = api_exception_handler(RuntimeError("boom"), {})
    assert response.status_code == 500
    assert response.data == {
        "error": {
            "code": "server_error",
            "message": "Something went wrong on our side.",
            "fields": {},
        }
    }


def test_the_500_handler_answers_json_under_api(rf):
    from api.errors import server_error

    response = server_error(rf.get("/api/v1/products/"))
    assert response.status_code == 500
    assert b'"server_error"' in response.content
