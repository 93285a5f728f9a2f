"""What the API shows and writes: the admin's services and audit rows, the key as actor,
never a code except through the audited reveal."""

from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry

from api.models import Scope
from keys.models import KeyBatchEvent, KeyView
from keys.selectors import key_available_counts
from refunds.models import ClaimEvent, ClaimMessage

from .conftest import api_key_new, auth


def _json(client, method, url, raw, body=None):
    kwargs = auth(raw)
    if body is not None:
        kwargs.update(data=body, content_type="application/json")
    return getattr(client, method)(url, **kwargs)


def test_products_show_their_stock(client, shop):
    _key, raw = api_key_new(Scope.CATALOG_READ)
    body = client.get("/api/v1/products/", **auth(raw)).json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["sku"] == "WIN11PRO"
    assert (
        row["stock_available"]
        == 2
        == key_available_counts(product_ids=[shop["product"].pk])[shop["product"].pk]
    )
    assert row["on_sale"] is True


def test_products_filter_and_order(client, shop):
    from tests.factories import ProductFactory

    ProductFactory(sku="OFF1", is_active=False, price=Decimal("5.00"))
    _key, raw = api_key_new(Scope.CATALOG_READ)
    rows = client.get("/api/v1/products/?on_sale=false", **auth(raw)).json()["results"]
    assert [r["sku"] for r in rows] == ["OFF1"]
    rows = client.get("/api/v1/products/?ordering=-price", **auth(raw)).json()["results"]
    assert [r["sku"] for r in rows] == ["WIN11PRO", "OFF1"]
    bad = client.get("/api/v1/products/?on_sale=maybe", **auth(raw))
    assert bad.status_code == 400 and "on_sale" in bad.json()["error"]["fields"]


def test_a_price_change_writes_the_admins_change_log_with_the_key_as_actor(client, shop):
    api_key, raw = api_key_new(Scope.STOCK_WRITE)
    product = shop["product"]
    response = _json(
        client,
        "patch",
        f"/api/v1/products/{product.pk}/",
        raw,
        {"price": "19.90", "on_sale": False},
    )
    assert response.status_code == 200
    assert response.json()["price"] == "19.90" and response.json()["on_sale"] is False
    product.refresh_from_db()
    assert product.price == Decimal("19.90") and not product.is_active
    entry = LogEntry.objects.get(object_id=str(product.pk))
    assert entry.user == api_key.user
    assert "price" in entry.get_change_message()


@pytest.mark.parametrize("body", [{"price": "0"}, {"price": "abc"}, {}, {"on_sale": "sometimes"}])
def test_an_invalid_product_change_is_400_and_changes_nothing(client, shop, body):
    _key, raw = api_key_new(Scope.STOCK_WRITE)
    product = shop["product"]
    response = _json(client, "patch", f"/api/v1/products/{product.pk}/", raw, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    product.refresh_from_db()
    assert product.price == Decimal("29.90")
    assert not LogEntry.objects.exists()


def test_quarantine_goes_through_the_batch_service_and_audit(client, shop):
    api_key, raw = api_key_new(Scope.STOCK_WRITE, Scope.CATALOG_READ)
    batch = shop["batch"]
    response = _json(
        client, "post", f"/api/v1/batches/{batch.pk}/quarantine/", raw, {"reason": "resold codes"}
    )
    assert response.status_code == 200
    assert response.json()["is_quarantined"] is True
    event = KeyBatchEvent.objects.get(batch=batch)
    assert event.actor == api_key.user and event.reason == "resold codes"
    assert LogEntry.objects.get(object_id=str(batch.pk)).user == api_key.user
    # unsold keys are off sale at once
    body = client.get("/api/v1/products/", **auth(raw)).json()
    assert body["results"][0]["stock_available"] == 0
    missing = _json(client, "post", f"/api/v1/batches/{batch.pk}/quarantine/", raw, {})
    assert missing.status_code == 400 and "reason" in missing.json()["error"]["fields"]


def test_order_detail_shows_lines_and_masked_keys_but_never_a_code(client, shop):
    from keys.crypto import code_decrypt

    _key, raw = api_key_new(*Scope.values)  # even with the reveal scope
    order, key = shop["order"], shop["key"]
    response = client.get(f"/api/v1/orders/{order.number}/", **auth(raw))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "delivered"
    assert body["lines"][0]["product_sku"] == "WIN11PRO"
    assert body["lines"][0]["keys"][0]["masked"] == key.masked
    code = code_decrypt(key.ciphertext)
    assert code not in response.content.decode()
    assert not KeyView.objects.filter(channel="api").exists()


def test_revealing_codes_needs_the_scope_and_is_audited_as_an_api_view(client, shop):
    from keys.crypto import code_decrypt

    api_key, raw = api_key_new(Scope.ORDERS_READ, Scope.KEYS_REVEAL)
    order, key = shop["order"], shop["key"]
    response = client.get(
        f"/api/v1/orders/{order.number}/keys/", HTTP_USER_AGENT="erp/1.0", **auth(raw)
    )
    assert response.status_code == 200
    assert response.json() == [
        {
            "id": key.pk,
            "order_line": key.order_line_id,
            "product_sku": "WIN11PRO",
            "code": code_decrypt(key.ciphertext),
        }
    ]
    assert "no-store" in response["Cache-Control"]
    view = KeyView.objects.get(channel="api")
    assert view.key == key and view.user == api_key.user and view.user_agent == "erp/1.0"
    assert api_key.prefix in view.reason


def test_orders_filter_by_status_email_and_time(client, shop):
    _key, raw = api_key_new(Scope.ORDERS_READ)
    number = shop["order"].number
    q = "/api/v1/orders/?status=delivered&email=ALICE@example.com&created_after=2000-01-01T00:00:00Z"
    assert [o["number"] for o in client.get(q, **auth(raw)).json()["results"]] == [number]
    assert client.get("/api/v1/orders/?status=paid", **auth(raw)).json()["count"] == 0
    assert (
        client.get("/api/v1/orders/?created_before=2000-01-01T00:00:00Z", **auth(raw)).json()[
            "count"
        ]
        == 0
    )
    for bad in ("status=lost", "created_after=yesterday"):
        response = client.get(f"/api/v1/orders/?{bad}", **auth(raw))
        assert response.status_code == 400
        assert bad.split("=")[0] in response.json()["error"]["fields"]


def test_refunds_list(client, shop):
    _key, raw = api_key_new(Scope.ORDERS_READ)
    rows = client.get(f"/api/v1/refunds/?order={shop['order'].number}", **auth(raw)).json()[
        "results"
    ]
    assert [(r["order"], r["amount"], r["status"]) for r in rows] == [
        (shop["order"].number, "5.00", "pending")
    ]


def test_claims_list_detail_and_a_message_through_the_claims_service(client, shop, mailoutbox):
    api_key, raw = api_key_new(Scope.CLAIMS)
    claim = shop["claim"]
    rows = client.get("/api/v1/claims/?status=submitted", **auth(raw)).json()["results"]
    assert [r["number"] for r in rows] == [claim.number]
    response = _json(
        client,
        "post",
        f"/api/v1/claims/{claim.number}/messages/",
        raw,
        {"body": "Please send a screenshot."},
    )
    assert response.status_code == 201
    message = ClaimMessage.objects.get(pk=response.json()["id"])
    assert message.author == api_key.user and message.author_role == "staff"
    assert ClaimEvent.objects.filter(claim=claim, kind="message", actor=api_key.user).exists()
    detail = client.get(f"/api/v1/claims/{claim.number}/", **auth(raw)).json()
    assert [m["body"] for m in detail["messages"]] == ["Please send a screenshot."]
    blank = _json(client, "post", f"/api/v1/claims/{claim.number}/messages/", raw, {"body": "  "})
    assert blank.status_code == 400


def test_a_message_on_a_closed_claim_is_400_with_the_services_reason(client, shop):
    from refunds.services import claim_close

    _key, raw = api_key_new(Scope.CLAIMS)
    claim = shop["claim"]
    claim_close(claim=claim, reason="resolved by phone", notify=False)
    response = _json(
        client, "post", f"/api/v1/claims/{claim.number}/messages/", raw, {"body": "hello"}
    )
    assert response.status_code == 400
    assert "no longer open" in response.json()["error"]["fields"]["body"][0]


def test_an_order_time_filter_with_an_odd_offset_is_read_in_utc(client, shop):
    """Found by Schemathesis on PostgreSQL, which refuses an offset beyond +/-15:59."""
    _key, raw = api_key_new(Scope.ORDERS_READ)
    response = client.get(
        "/api/v1/orders/", {"created_after": "2000-06-10T01:34:38-16:01"}, **auth(raw)
    )
    assert response.status_code == 200
    assert response.json()["count"] == 1
