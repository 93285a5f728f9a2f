from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from tests.factories import ProductFactory, UserFactory, keys_create, order_delivered_new


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
