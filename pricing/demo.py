"""Demo data: the demo shop's tax regime and a welcome coupon (``make run`` / ``seed_demo``).

The demo's active preset names the seller: AllKeyMasters sells from France under EU OSS,
NovaKeys from Saudi Arabia at the national 15%. An owner's own settings are never changed:
the regime is set only while the shop identity still has none.
"""

from __future__ import annotations

import os

from core.identity import shop_identity_get, shop_identity_update

from .models import Coupon, CouponKind

DEMO_TAX = {"allkeymasters": ("FR", "eu_oss"), "novakeys": ("SA", "national")}
WELCOME_CODE = "WELCOME10"
# The seller printed on the demo's invoices and emails (fictitious; format-valid numbers).
DEMO_SELLER = {
    "allkeymasters": {
        "legal_name": "Keystore Demo SAS", "address_line1": "12 rue de la Paix",
        "postcode": "75002", "city": "Paris", "vat_number": "FR40303265045",
        "company_number": "RCS Paris 303 265 045",
    },
    "novakeys": {
        "legal_name": "Keystore Demo Trading Est.", "address_line1": "King Fahd Road",
        "postcode": "12214", "city": "Riyadh", "vat_number": "310122393500003",
        "company_number": "CR 1010123456",
    },
}  # fmt: skip


def demo_seed(stdout, keys_per_product: int = 0) -> None:
    preset = os.environ.get("KEYSTORE_POLICY_PRESET", "allkeymasters")
    identity = shop_identity_get(use_cache=False)
    if preset in DEMO_TAX and identity.tax_regime == "none":
        country, regime = DEMO_TAX[preset]
        shop_identity_update(country=identity.country or country, tax_regime=regime)
    identity = shop_identity_get(use_cache=False)
    if preset in DEMO_SELLER and not identity.legal_name:  # an owner's own identity stays
        shop_identity_update(**DEMO_SELLER[preset])
    Coupon.objects.get_or_create(
        code=WELCOME_CODE,
        defaults={"kind": CouponKind.PERCENT, "value": 10, "max_redemptions_per_customer": 1},
    )
    identity = shop_identity_get(use_cache=False)
    stdout.write(
        f"Pricing: tax regime {identity.tax_regime} ({identity.country or 'no country'}), "
        f"coupon {WELCOME_CODE} (10% off, once per customer); invoices issued by "
        f"{identity.legal_name or identity.name}."
    )
