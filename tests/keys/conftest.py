from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from tests.factories import ProductFactory, UserFactory

WINDOWS_FORMAT = r"^[A-Z0-9]{5}(-[A-Z0-9]{5}){4}$"


def order_line_new(*, product, quantity=1, email="buyer@example.com"):
    """A real order and line (the orders app owns them; keys only points at lines)."""
    from orders.models import Order, OrderLine

    order = Order.objects.create(
        email=email,
        billing_name="Test Buyer",
        currency="EUR",
        total=product.price * quantity,
    )
    return OrderLine.objects.create(
        order=order,
        product=product,
        product_name=product.name,
        quantity=quantity,
        unit_price=product.price,
        line_total=product.price * quantity,
    )


@pytest.fixture
def win(db):
    return ProductFactory(
        name="Windows 11 Pro",
        slug="windows-11-pro",
        key_format=WINDOWS_FORMAT,
        low_stock_threshold=2,
        price=Decimal("29.90"),
    )


@pytest.fixture
def revealer(db):
    """A staff member allowed to reveal codes (not a superuser)."""
    user = UserFactory(email="revealer@example.com", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="keys",
            codename__in=["reveal_key_code", "view_key", "import_keys", "view_keybatch"],
        )
    )
    return user
