"""Demo stock for `manage.py seed_demo`: a demo supplier and generated codes per product.

Safe to run twice: each product is topped up to ``keys_per_product`` sellable keys. The
codes go through the real import path (encrypted, fingerprinted); they are random and
activate nothing.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from decimal import Decimal

from django.utils.translation import gettext as _

from catalog.models import Product

from .models import KeyBatch, Supplier
from .selectors import key_available_counts
from .services import key_import

PRODUCT_KEY_ALPHABET = "BCDFGHJKMPQRTVWXY2346789"  # the 5x5 product-key alphabet
GIFT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _groups(alphabet: str, groups: int, size: int) -> Callable[[], str]:
    def make() -> str:
        return "-".join(
            "".join(secrets.choice(alphabet) for _ in range(size)) for _ in range(groups)
        )

    return make


def _plain(alphabet: str, length: int) -> Callable[[], str]:
    return lambda: "".join(secrets.choice(alphabet) for _ in range(length))


GENERATORS = [
    _groups(PRODUCT_KEY_ALPHABET, 5, 5),  # XXXXX-XXXXX-XXXXX-XXXXX-XXXXX (Windows, Office)
    _plain(GIFT_ALPHABET, 16),  # 16-character gift codes
    _groups(GIFT_ALPHABET, 4, 4),  # XXXX-XXXX-XXXX-XXXX (antivirus)
]


def code_generator_for(product: Product) -> Callable[[], str] | None:
    """A generator of random codes that match the product's key format, if one fits."""
    if not product.key_format:
        return GENERATORS[1] if product.kind == "gift_code" else GENERATORS[2]
    pattern = re.compile(product.key_format)
    for make in GENERATORS:
        if pattern.fullmatch(make()):
            return make
    return None


def demo_seed(*, stdout, keys_per_product: int) -> None:
    supplier, _created = Supplier.objects.get_or_create(
        name="Demo supplier", defaults={"contact_email": "supplier@keystore.localhost"}
    )
    products = list(Product.objects.filter(is_active=True).order_by("pk"))
    counts = key_available_counts(product_ids=[p.pk for p in products])
    added = 0
    for product in products:
        missing = keys_per_product - counts.get(product.pk, 0)
        make = code_generator_for(product)
        if missing <= 0:
            continue
        if make is None:
            stdout.write(
                _("No demo codes for %(sku)s: its key format is unusual.") % {"sku": product.sku}
            )
            continue
        batch, _created = KeyBatch.objects.get_or_create(
            supplier=supplier,
            product=product,
            reference=f"DEMO-{product.sku}",
            defaults={"cost_per_key": (product.price * Decimal("0.4")).quantize(Decimal("0.01"))},
        )
        report = key_import(
            product=product,
            batch=batch,
            lines=(make() for _ in range(missing)),
            source_name=f"demo codes for {product.sku}",
        )
        if report.ok:
            added += report.imported
        else:
            stdout.write(report.message)
    stdout.write(f"Keys: {added} demo keys added (up to {keys_per_product} per product).")
