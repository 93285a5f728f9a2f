"""Browser journey: a manager opens /admin/ and sees the shop's state without clicking
further (figures, what needs a person, charts), switches the period, and follows a link
to a filtered list. Saves var/screenshots/dashboard.png."""

from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import admin_page
from tests.factories import (
    KeyBatchFactory,
    ProductFactory,
    SupplierFactory,
    UserFactory,
    keys_create,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
RIYADH = ZoneInfo("Asia/Riyadh")


def _local(days_ago: int, hour: int) -> datetime:
    """``hour`` o'clock ``days_ago`` days ago on the store's clock (today: not in the future)."""
    now = timezone.now()
    today = now.astimezone(RIYADH).date()
    moment = datetime.combine(today - timedelta(days=days_ago), time(hour), RIYADH)
    midnight = datetime.combine(today, time.min, RIYADH)
    return moment if moment < now else max(midnight, now - timedelta(minutes=hour))


def _shop_month() -> int:
    """A month of trade: orders every day, refunds, claims, a dispute, holds, defects.
    Returns the number of orders paid in the last 30 store days."""
    from keys.models import KeyStatus
    from keys.services import key_mark_defective, key_transition
    from orders.models import Order, OrderLine, Refund
    from policies.services import preset_load
    from refunds.models import Claim, Dispute

    preset_load(slug="novakeys", activate=True)
    catalog = [
        ("Windows 11 Pro", "29.90", 60, 5),
        ("Office 2021 Professional Plus", "49.90", 9, 5),
        ("Kaspersky Total Security", "19.90", 3, 5),
        ("Steam Gift Card 50", "50.00", 25, 5),
        ("Adobe Acrobat Pro", "89.00", 14, 3),
    ]
    products = []
    for name, price, stock, threshold in catalog:
        product = ProductFactory(name=name, price=Decimal(price), low_stock_threshold=threshold)
        keys_create(product=product, count=stock)
        products.append(product)

    orders, lines = [], []
    for day in range(30):
        for n in range((day * 7) % 5 + 2):
            product = products[(day + n) % len(products)]
            order = Order(email=f"buyer{day}-{n}@example.com", billing_name="Buyer",
                          currency="EUR", total=product.price, net_total=product.price,
                          subtotal=product.price, status="delivered",
                          paid_at=_local(day, 9 + n), delivered_at=_local(day, 9 + n))  # fmt: skip
            orders.append(order)
            lines.append(OrderLine(order=order, product=product, product_name=product.name,
                                   quantity=1, unit_price=product.price,
                                   line_total=product.price, net_amount=product.price))  # fmt: skip
    Order.objects.bulk_create(orders)
    OrderLine.objects.bulk_create(lines)
    for i, order in enumerate(orders[:4]):
        Refund.objects.create(order=order, amount=order.total, currency="EUR", reason="claim",
                              reference=f"r{i}", status="succeeded", idempotency_key=f"r{i}",
                              gateway="test")  # fmt: skip
    for status in ("on_hold", "on_hold", "backordered"):
        Order.objects.create(email="held@example.com", billing_name="Held", currency="EUR",
                             total=Decimal("89.00"), status=status, paid_at=timezone.now())  # fmt: skip

    reasons = ["key_invalid"] * 5 + ["key_already_used"] * 3 + ["not_delivered"] * 2
    reasons += ["wrong_purchase", "activation_problem"]
    now = timezone.now()
    for i, reason in enumerate(reasons):
        order, line = orders[i * 3], lines[i * 3]
        claim = Claim.objects.create(order=order, order_line=line, guest_email=order.email,
                                     reason=reason, description="It fails.",
                                     preset_slug="novakeys")  # fmt: skip
        decided = i % 3 != 0
        Claim.objects.filter(pk=claim.pk).update(
            created_at=_local(i, 8),
            decided_at=_local(i, 8) + timedelta(hours=2 + i) if decided else None,
            status="rejected" if decided else "submitted",
            verification_due_at=None if decided else now + timedelta(hours=6 - 4 * i),
        )
    Dispute.objects.create(order=orders[5], stripe_dispute_id="dp_1", status="needs_response",
                           amount=orders[5].total, currency="EUR",
                           evidence_due_by=now + timedelta(days=4))  # fmt: skip

    # Two suppliers: one clean, one with a bad batch (quarantined automatically).
    for supplier_name, sold, bad in [("KeyWholesale GmbH", 30, 1), ("Grey Market Ltd", 20, 5)]:
        supplier = SupplierFactory(name=supplier_name, defect_min_sample=10,
                                   defect_quarantine_percent=Decimal("20"))  # fmt: skip
        product = products[0]
        batch = KeyBatchFactory(product=product, supplier=supplier)
        keys = keys_create(product=product, count=sold, batch=batch)
        line = lines[0]
        for key in keys:
            key_transition(key=key, to_status=KeyStatus.DELIVERED, reason="sold", order_line=line)
        for key in keys[:bad]:
            key_mark_defective(key=key, actor=None, reason="claim: invalid")
    return sum(1 for o in orders)


def test_manager_sees_the_shop_on_the_admin_front_page(browser, live_server, shop):
    paid = _shop_month()
    manager = UserFactory(email="manager@example.com", is_staff=True, is_superuser=True)
    page = admin_page(
        browser=browser,
        base_url=live_server.url,
        user=manager,
        viewport={"width": 1440, "height": 900},
    )

    page.goto("/admin/?period=30")
    expect(page.get_by_role("heading", name="The shop, 30 days")).to_be_visible()
    expect(page.locator("#kpi-orders .ks-kpi-value")).to_have_text(str(paid + 3))  # + held ones
    expect(page.locator("#ks-attention")).to_contain_text("2 orders held for a security check")
    expect(page.locator("#ks-attention")).to_contain_text("1 disputes waiting for evidence")
    expect(page.get_by_role("img", name="Revenue per day")).to_be_visible()
    expect(page.get_by_role("img", name="Claims per reason")).to_be_visible()
    expect(page.locator("#chart-defects")).to_contain_text("Grey Market Ltd")
    expect(page.locator("#chart-defects")).to_contain_text("25.0% (5/20)")
    expect(page.locator("#chart-cover")).to_contain_text("Office 2021 Professional Plus")
    expect(page.locator("#content-main")).to_contain_text("Orders")  # the app list, below
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)

    page.get_by_role("link", name="7 days").click()
    expect(page.locator('a[aria-current="page"]')).to_have_text("7 days")
    page.locator("#todo-held").click()
    expect(page).to_have_url(f"{live_server.url}/admin/orders/order/?status__exact=on_hold")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    page.context.close()
