from decimal import Decimal

import pytest

from tests.factories import ProductFactory, keys_create, order_delivered_new


def api_key_new(*scopes: str, name: str = "merchant system"):
    """(ApiKey, the key in clear) with these scopes, through the real service."""
    from api.services import api_key_create

    return api_key_create(name=name, scopes=list(scopes))


def auth(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture(autouse=True)
def _api_settings(settings):
    settings.PAYMENT_GATEWAY = "test"
    settings.SITE_URL = "http://testserver"
    settings.API_RATE_LIMIT = 10_000
    settings.API_RATE_WINDOW_SECONDS = 60


@pytest.fixture
def all_scopes():
    from api.models import Scope

    return list(Scope.values)


@pytest.fixture
def shop(db):
    """A product in stock, a delivered order of one of its keys, a claim on that key and a
    refund row: one of everything the API lists."""
    from keys.models import Key
    from orders.models import Refund
    from policies.services import preset_load
    from tests.factories import claim_new

    preset_load(slug="novakeys", activate=True)
    product = ProductFactory(
        name="Windows 11 Pro", slug="windows-11-pro", sku="WIN11PRO", price=Decimal("29.90")
    )
    keys_create(product=product, count=3)
    order = order_delivered_new(product=product, email="alice@example.com")
    key = Key.objects.get(order_line__order=order)
    claim = claim_new(order=order, key=key)
    refund = Refund.objects.create(
        order=order,
        amount=Decimal("5.00"),
        currency="EUR",
        reason="goodwill",
        idempotency_key=f"test-refund-{order.pk}",
        gateway="test",
    )
    from webhooks.models import WebhookEndpoint

    endpoint = WebhookEndpoint.objects.create(
        name="accounting", url="http://127.0.0.1:9/hook", events=["order.paid"]
    )
    return {
        "endpoint": endpoint,
        "product": product,
        "batch": key.batch,
        "order": order,
        "key": key,
        "claim": claim,
        "refund": refund,
    }
