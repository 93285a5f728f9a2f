from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.test import TestCase

from tests.factories import ProductFactory, keys_create, order_new

CARD_OK = "4242424242424242"


@pytest.fixture(autouse=True)
def _invoice_settings(settings):
    settings.PAYMENT_GATEWAY = "test"
    settings.SITE_URL = "http://testserver"
    settings.STAFF_ALERT_EMAILS = ["staff@keystore.test"]


@pytest.fixture
def antimart(db):
    from policies.services import preset_load

    return preset_load(slug="antimart", activate=True).preset


@pytest.fixture
def shop_fr(db):
    from core.identity import shop_identity_update

    shop_identity_update(
        name="AllKeyMasters",
        legal_name="AllKeyMasters SAS",
        address_line1="12 rue de la Paix",
        postcode="75002",
        city="Paris",
        country="FR",
        support_email="support@allkeymasters.example",
        vat_number="FR40303265045",
        company_number="RCS Paris 303 265 045",
        invoice_prefix="AKM-",
    )


@pytest.fixture
def shop_sa(db):
    from core.identity import shop_identity_update

    shop_identity_update(
        name="NovaKeys",
        legal_name="NovaKeys Trading Est.",
        address_line1="King Fahd Road",
        postcode="12214",
        city="Riyadh",
        country="SA",
        support_email="support@novakeys.example",
        vat_number="310122393500003",
        company_number="CR 1010123456",
        invoice_prefix="NK-",
    )


@pytest.fixture
def win(db):
    product = ProductFactory(name="Windows 11 Pro", slug="windows-11-pro", price=Decimal("29.90"))
    keys_create(product=product, count=6)
    return product


@pytest.fixture
def office(db):
    product = ProductFactory(
        name="Office 2021 Professional Plus", slug="office-2021", price=Decimal("49.90")
    )
    keys_create(product=product, count=4)
    return product


def _q(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def order_taxed(
    *,
    products,
    regime: str,
    treatment: str,
    rate: str,
    country: str,
    company: str = "",
    vat_number: str = "",
    language: str = "en",
    discount_percent: str = "0",
    coupon: str = "",
    email: str = "buyer@example.com",
    currency: str = "",
):
    """A real checkout order, then the tax breakdown pricing's checkout writes (VAT-inclusive
    prices: net and tax derived per line; an optional percentage discount per line)."""
    from orders.models import Order, OrderLine

    first, *others = products
    order = order_new(product=first, email=email, language=language)
    for product in others:
        OrderLine.objects.create(
            order=order,
            product=product,
            product_name=product.name,
            quantity=1,
            unit_price=product.price,
            line_total=product.price,
        )
    rate_d = Decimal(rate)
    totals = {"subtotal": Decimal(0), "discount": Decimal(0), "net": Decimal(0), "tax": Decimal(0)}
    for line in order.lines.order_by("id"):
        listed = line.unit_price * line.quantity
        discount = _q(listed * Decimal(discount_percent) / 100)
        gross = listed - discount
        tax = _q(gross * rate_d / (100 + rate_d))
        OrderLine.objects.filter(pk=line.pk).update(
            line_total=gross,
            discount_amount=discount,
            net_amount=gross - tax,
            tax_amount=tax,
            tax_rate=rate_d,
        )
        totals["subtotal"] += listed
        totals["discount"] += discount
        totals["net"] += gross - tax
        totals["tax"] += tax
    Order.objects.filter(pk=order.pk).update(
        billing_country=country,
        billing_company=company,
        billing_vat_number=vat_number,
        tax_regime=regime,
        tax_treatment=treatment,
        subtotal=totals["subtotal"],
        discount_total=totals["discount"],
        net_total=totals["net"],
        tax_total=totals["tax"],
        total=totals["net"] + totals["tax"],
        coupon_code=coupon,
        **({"currency": currency} if currency else {}),
    )
    order.refresh_from_db()
    return order


def pay(order):
    from orders.services import payment_test_card_submit

    with TestCase.captureOnCommitCallbacks(execute=True):
        payment_test_card_submit(session_id=order.gateway_session_id, card_number=CARD_OK)
    order.refresh_from_db()
    return order


REGIMES = {
    # name: (regime, treatment, rate, country, company, vat number)
    "domestic_fr": ("eu_oss", "domestic", "20.00", "FR", "", ""),
    "oss_de": ("eu_oss", "oss", "19.00", "DE", "", ""),
    "reverse_charge_de": ("eu_oss", "reverse_charge", "0.00", "DE", "Becker GmbH", "DE136695976"),
    "outside_us": ("eu_oss", "outside_scope", "0.00", "US", "", ""),
    "ksa": ("national", "national", "15.00", "SA", "", ""),
}
