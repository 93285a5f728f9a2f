from decimal import Decimal

import pytest

from tests.factories import ProductFactory, keys_create

from .helpers import WEBHOOK_SECRET


@pytest.fixture(autouse=True)
def _orders_settings(settings):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.PAYMENT_GATEWAY = "test"
    settings.SITE_URL = "http://testserver"
    settings.STAFF_ALERT_EMAILS = ["staff@keystore.test"]


@pytest.fixture
def win(db):
    return ProductFactory(
        name="Windows 11 Pro",
        slug="windows-11-pro",
        price=Decimal("29.90"),
        activation_instructions="Settings > System > Activation > Change product key.",
    )


@pytest.fixture
def stocked(win):
    """Windows 11 Pro with 5 keys in stock (encrypted through the real import)."""
    keys_create(product=win, count=5)
    return win


@pytest.fixture
def allkeymasters(db):
    from policies.services import preset_load

    return preset_load(slug="allkeymasters", activate=True).preset


@pytest.fixture
def antimart(db):
    from policies.services import preset_load

    return preset_load(slug="antimart", activate=True).preset


@pytest.fixture
def standin():
    """The local Stripe stand-in, served over HTTP for the real stripe library."""
    from .stripe_standin import StripeStandIn

    server = StripeStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def stripe_on(settings, standin):
    settings.PAYMENT_GATEWAY = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_standin"
    settings.STRIPE_API_BASE = standin.url
    settings.ORDERS_STRIPE_TIMEOUT_SECONDS = 1
    return standin


@pytest.fixture
def stripe_order(stripe_on):
    """A pending Stripe order with a real Checkout Session at the stand-in.

    ``pay=True`` also marks the session paid there (as the customer paying would).
    """
    from orders.services import order_checkout_start
    from tests.factories import order_new

    def make(*, product, quantity=1, email="buyer@example.com", pay=True, risk_level="normal",
             fingerprint="fp_test_card", **kw):  # fmt: skip
        order = order_new(product=product, quantity=quantity, email=email, gateway="stripe", **kw)
        order.gateway_session_id = ""
        order.save(update_fields=["gateway_session_id"])
        order_checkout_start(order=order)
        if pay:
            stripe_on.session_pay(
                order.gateway_session_id, risk_level=risk_level, fingerprint=fingerprint
            )
        return order

    return make
