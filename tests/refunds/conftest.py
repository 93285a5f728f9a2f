from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from tests.factories import ProductFactory, UserFactory, keys_create, order_delivered_new
from tests.orders.conftest import stripe_on  # noqa: F401 -- uses our `standin` below


@pytest.fixture(autouse=True)
def _refunds_settings(settings):
    settings.PAYMENT_GATEWAY = "test"
    settings.SITE_URL = "http://testserver"
    settings.STAFF_ALERT_EMAILS = ["staff@keystore.test"]
    settings.REFUND_LIMIT_WITHOUT_MANAGER = "100.00"


def preset_activate(slug: str):
    from policies.services import preset_load

    return preset_load(slug=slug, activate=True).preset


@pytest.fixture
def preset(request, db):
    """The active preset: parametrize indirectly with a slug (default novakeys)."""
    return preset_activate(getattr(request, "param", "novakeys"))


@pytest.fixture
def win(db):
    return ProductFactory(name="Windows 11 Pro", slug="windows-11-pro", price=Decimal("29.90"))


@pytest.fixture
def stocked(win):
    keys_create(product=win, count=4)
    return win


@pytest.fixture
def customer(db):
    return UserFactory(email="alice@example.com")


@pytest.fixture
def other_customer(db):
    return UserFactory(email="mallory@example.com")


@pytest.fixture
def delivered(stocked, customer):
    """Alice's delivered order of one Windows 11 Pro key, and that key."""
    from keys.models import Key

    order = order_delivered_new(product=stocked, user=customer)
    key = Key.objects.get(order_line__order=order)
    assert key.status == "delivered"
    return order, key


def staff_with(*codenames: str, email: str = "agent@example.com"):
    """A staff member with only the given permissions (support agent, manager...)."""
    user = UserFactory(email=email, is_staff=True)
    for codename in ("view_claim", "change_claim", *codenames):
        app, _, code = codename.rpartition(".")
        perm = Permission.objects.get(
            codename=code, **({"content_type__app_label": app} if app else {})
        )
        user.user_permissions.add(perm)
    return type(user).objects.get(pk=user.pk)  # fresh: no permission cache


@pytest.fixture
def agent(db):
    """Support staff: may decide claims, may not reveal codes or refund above the limit."""
    return staff_with("decide_claim")


@pytest.fixture
def manager(db):
    return staff_with(
        "decide_claim", "refund_above_limit", "submit_dispute_evidence", email="manager@example.com"
    )


class StandIn:
    """The orders app's Stripe stand-in, plus what refunds calls: dispute updates, and a
    stall of the next N answers (each after the work is done, as lost responses)."""

    @staticmethod
    def make():
        from tests.orders.stripe_standin import StripeStandIn, _error

        class RefundsStandIn(StripeStandIn):
            stall_count: int = 0
            stall_seconds: float = 0.0
            refuse_refunds: int = 0  # answer the next N refund requests with a card error
            disputes: dict

            def handle(self, method, path, params, key):
                status, answer, stall = super().handle(method, path, params, key)
                with self._lock:
                    if self.stall_count:
                        self.stall_count -= 1
                        stall = max(stall, self.stall_seconds)
                return status, answer, stall

            def _route(self, method, path, params):
                if method == "POST" and path == "/v1/refunds" and self.refuse_refunds:
                    self.refuse_refunds -= 1
                    return 402, _error("Your card was declined.", "charge_declined")
                if method == "POST" and path.startswith("/v1/disputes/"):
                    dispute_id = path.rsplit("/", 1)[-1]
                    if dispute_id not in self.disputes:
                        return 404, _error("No such dispute", "resource_missing")
                    dispute = self.disputes[dispute_id]
                    dispute["evidence"] = params.get("evidence") or {}
                    if params.get("submit") == "true":
                        dispute["status"] = "under_review"
                    return 200, dispute
                return super()._route(method, path, params)

        server = RefundsStandIn()
        server.disputes = {}
        return server


@pytest.fixture
def standin():
    server = StandIn.make().start()
    yield server
    server.stop()


@pytest.fixture
def stripe_delivered(stripe_on, stocked, customer):  # noqa: F811 -- the fixture above
    """Alice's Stripe order, paid at the stand-in and delivered, and its key."""
    from django.test import TestCase

    from keys.models import Key
    from orders.services import order_checkout_start, order_payment_sync
    from tests.factories import order_new

    order = order_new(product=stocked, email=customer.email, user=customer, gateway="stripe")
    order.gateway_session_id = ""
    order.save(update_fields=["gateway_session_id"])
    order_checkout_start(order=order)
    stripe_on.session_pay(order.gateway_session_id)
    with TestCase.captureOnCommitCallbacks(execute=True):
        order_payment_sync(order=order)
    order.refresh_from_db()
    assert order.status == "delivered", order.status
    return order, Key.objects.get(order_line__order=order)
