import pytest

from webhooks.models import WebhookEndpoint

from .receiver import Receiver


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    settings.STAFF_ALERT_EMAILS = ["staff@keystore.test"]
    settings.PAYMENT_GATEWAY = "test"
    settings.SITE_URL = "http://testserver"


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def endpoint_for(db):
    def make(receiver, *, events=("order.paid", "order.delivered"), **fields):
        return WebhookEndpoint.objects.create(
            name=fields.pop("name", "ERP"), url=receiver.url, events=list(events), **fields
        )

    return make
