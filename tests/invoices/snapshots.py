"""Snapshots shaped as invoices.services writes them, for PDF tests that need no order."""

from copy import deepcopy

SELLERS = {
    "fr": {
        "name": "AllKeyMasters",
        "legal_name": "AllKeyMasters SAS",
        "address_lines": ["12 rue de la Paix", "75002 Paris", "FR"],
        "country": "FR",
        "vat_number": "FR40303265045",
        "company_number": "RCS Paris 303 265 045",
        "support_email": "support@allkeymasters.example",
    },
    "sa": {
        "name": "NovaKeys",
        "legal_name": "NovaKeys Trading Est.",
        "address_lines": ["King Fahd Road", "12214 Riyadh", "SA"],
        "country": "SA",
        "vat_number": "310122393500003",
        "company_number": "CR 1010123456",
        "support_email": "support@novakeys.example",
    },
}

BASE = {
    "type": "invoice",
    "kind": "invoice",
    "number": "AKM-2026-000042",
    "issued_at": "2026-11-30T09:15:00+00:00",
    "supply_date": "2026-11-30T09:14:00+00:00",
    "time_zone": "Europe/Paris",
    "language": "en",
    "bilingual_arabic": False,
    "currency": "EUR",
    "order_number": "KS-7F3K9Q2M",
    "seller": SELLERS["fr"],
    "buyer": {
        "name": "Jonas Becker",
        "email": "jonas@example.de",
        "country": "DE",
        "company": "",
        "vat_number": "",
    },  # fmt: skip
    "lines": [
        {
            "line_id": 1,
            "description": "Windows 11 Pro",
            "quantity": 2,
            "unit_price": "29.90",
            "discount": "5.98",
            "net": "45.23",
            "rate": "19.00",
            "tax": "8.59",
            "gross": "53.82",
        },
        {
            "line_id": 2,
            "description": "Office 2021 Professional Plus",
            "quantity": 1,
            "unit_price": "49.90",
            "discount": "0.00",
            "net": "41.93",
            "rate": "19.00",
            "tax": "7.97",
            "gross": "49.90",
        },
    ],  # fmt: skip
    "totals": {
        "subtotal": "109.70",
        "discount": "5.98",
        "net": "87.16",
        "tax": "16.56",
        "gross": "103.72",
    },  # fmt: skip
    "rates": [{"rate": "19.00", "net": "87.16", "tax": "16.56", "gross": "103.72"}],
    "coupon_code": "WINTER10",
    "tax_regime": "eu_oss",
    "tax_treatment": "oss",
    "mentions": [],
}


def snapshot_sample(*, regime: str = "oss", language: str = "en") -> dict:
    snap = deepcopy(BASE)
    snap["language"] = language
    if regime == "reverse_charge":
        snap["buyer"].update(company="Becker GmbH", vat_number="DE136695976")
        snap["tax_treatment"] = "reverse_charge"
    if regime == "ksa":
        snap.update(kind="simplified", number="NK-2026-000007", currency="SAR",
                    bilingual_arabic=True, seller=SELLERS["sa"], tax_regime="national",
                    tax_treatment="national", coupon_code="", time_zone="Asia/Riyadh")  # fmt: skip
        snap["buyer"].update(country="SA", name="سارة العتيبي", email="sara@example.sa")
        snap["lines"] = [
            {"line_id": 1, "description": "Windows 11 Pro", "quantity": 1, "unit_price": "115.00",
             "discount": "0.00", "net": "100.00", "rate": "15.00", "tax": "15.00",
             "gross": "115.00"}
        ]  # fmt: skip
        snap["totals"] = {"subtotal": "115.00", "discount": "0.00", "net": "100.00",
                          "tax": "15.00", "gross": "115.00"}  # fmt: skip
        snap["rates"] = [{"rate": "15.00", "net": "100.00", "tax": "15.00", "gross": "115.00"}]
    return snap
