"""One sample invoice per tax regime (and a credit note), as PDFs and PNG pages.

Runs the real path -- shop identity, checkout with billing country / VAT number / coupon
(pricing computes the tax), payment on the test gateway, ``invoice_issue``,
``credit_note_issue`` -- inside one transaction that is rolled back at the end: the
database (the demo's, or any) is left exactly as it was; only the files remain.

    manage.py invoice_samples [--out var/invoices]

PNG pages need ``pdftoppm`` (Debian/Ubuntu: poppler-utils); without it only PDFs are
written.
"""

from __future__ import annotations

import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from catalog.models import Category, Product
from core.identity import SHOP_IDENTITY_CACHE_KEY, shop_identity_update
from invoices.selectors import document_pdf
from invoices.services import credit_note_issue, invoice_issue
from orders.cart import cart_get
from orders.models import Refund
from orders.selectors import checkout_consents_list
from orders.services import ConsentGiven, order_create_from_cart, payment_test_card_submit
from policies.services import preset_load
from pricing.models import Coupon


class _Rollback(Exception):
    pass


SELLERS = {
    "FR": {
        "name": "AllKeyMasters",
        "legal_name": "AllKeyMasters SAS",
        "address_line1": "12 rue de la Paix",
        "address_line2": "",
        "postcode": "75002",
        "city": "Paris",
        "country": "FR",
        "support_email": "support@allkeymasters.example",
        "vat_number": "FR40303265045",
        "company_number": "RCS Paris 303 265 045",
        "invoice_prefix": "AKM-",
        "tax_regime": "eu_oss",
    },
    "SA": {
        "name": "NovaKeys",
        "legal_name": "NovaKeys Trading Est.",
        "address_line1": "King Fahd Road, Al Olaya",
        "address_line2": "",
        "postcode": "12214",
        "city": "Riyadh",
        "country": "SA",
        "support_email": "support@novakeys.example",
        "vat_number": "310122393500003",
        "company_number": "CR 1010123456",
        "invoice_prefix": "NK-",
        "tax_regime": "national",
    },
}

# name: (seller, language, billing name, email, country, company, VAT number, coupon)
SAMPLES = [
    ("1-domestic-fr", "FR", "fr", "Camille Martin", "camille@example.fr", "FR", "", "", "SAMPLE10"),
    ("2-oss-de-consumer", "FR", "en", "Jonas Becker", "jonas@example.de", "DE", "", "", ""),
    ("3-reverse-charge-de-business", "FR", "en", "Jonas Becker", "billing@becker.example", "DE",
     "Becker Software GmbH", "DE136695976", ""),
    ("4-outside-eu-us", "FR", "en", "Ava Johnson", "ava@example.com", "US", "", "", ""),
    ("5-ksa-simplified", "SA", "ar", "سارة العتيبي", "sara@example.sa", "SA", "", "", ""),
]  # fmt: skip


class Command(BaseCommand):
    help = "Write one sample invoice PDF (and PNG) per tax regime, leaving the database as it was."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--out", default=str(Path(settings.BASE_DIR) / "var" / "invoices"))

    def handle(self, *args, out: str, **options) -> None:
        out_dir = Path(out)
        out_dir.mkdir(parents=True, exist_ok=True)
        documents: list[tuple[str, bytes]] = []
        try:
            with transaction.atomic():
                documents = self._issue_samples()
                raise _Rollback
        except _Rollback:
            pass
        finally:
            cache.delete(SHOP_IDENTITY_CACHE_KEY)  # the real identity again
        written = []
        for name, pdf in documents:
            path = out_dir / f"{name}.pdf"
            path.write_bytes(pdf)
            written.append(path)
            self.stdout.write(f"PDF  {path}")
        self._pngs(written, out_dir / "png")

    def _issue_samples(self) -> list[tuple[str, bytes]]:
        preset_load(slug="allkeymasters", activate=True)
        Coupon.objects.update_or_create(code="SAMPLE10", defaults={"kind": "percent", "value": 10})
        category, _ = Category.objects.get_or_create(
            slug="sample-software", defaults={"name": "Software"}
        )
        catalog = {}
        for currency, items in {
            "EUR": [("Windows 11 Pro", "29.90"), ("Office 2021 Professional Plus", "49.90")],
            "SAR": [("Windows 11 Pro", "119.00"), ("Office 2021 Professional Plus", "199.00")],
        }.items():
            catalog[currency] = [
                Product.objects.create(
                    category=category,
                    name=name,
                    slug=f"sample-{currency.lower()}-{index}",
                    sku=f"SAMPLE-{currency}-{index}",
                    price=Decimal(price),
                    currency=currency,
                )
                for index, (name, price) in enumerate(items)
            ]
        documents = []
        for name, seller, language, billing, email, country, company, vat, coupon in SAMPLES:
            shop_identity_update(**SELLERS[seller])
            cache.delete(SHOP_IDENTITY_CACHE_KEY)
            products = catalog["SAR" if seller == "SA" else "EUR"]
            cart = cart_get(session_cart={str(products[0].pk): 2, str(products[1].pk): 1})
            order = order_create_from_cart(
                cart=cart,
                billing_name=billing,
                email=email,
                language=language,
                consents=[
                    ConsentGiven(
                        kind=c.kind,
                        text=c.wording,
                        wording_version=c.wording_version,
                        clause=c.clause_id,
                        legal_basis=c.legal_basis,
                    )
                    for c in checkout_consents_list(language=language)
                ],  # fmt: skip
                billing_country=country,
                billing_company=company,
                vat_number=vat,
                coupon_code=coupon,
            )
            order.gateway_session_id = f"test_cs_sample_{order.pk.hex}"
            order.save(update_fields=["gateway_session_id"])
            payment_test_card_submit(
                session_id=order.gateway_session_id, card_number="4242424242424242"
            )
            invoice = invoice_issue(order_id=order.pk)
            if invoice is None:
                raise CommandError(f"{name}: the sample order was not paid")
            documents.append((name, document_pdf(document=invoice)))
            if name == "1-domestic-fr":
                refund = Refund.objects.create(
                    order=order,
                    amount=Decimal("20.00"),
                    currency=order.currency,
                    reason="claim_exchange",
                    reference="SAMPLE",
                    idempotency_key=f"sample-{order.pk}",
                    gateway="test",
                    status="succeeded",
                )
                note = credit_note_issue(refund_id=refund.pk)
                if note is None:
                    raise CommandError("the sample refund did not succeed")
                documents.append(("6-credit-note-fr", document_pdf(document=note)))
        return documents

    def _pngs(self, pdfs: list[Path], png_dir: Path) -> None:
        tool = shutil.which("pdftoppm")
        if tool is None:
            self.stdout.write("pdftoppm not found (apt-get install poppler-utils): PDFs only.")
            return
        png_dir.mkdir(parents=True, exist_ok=True)
        for pdf in pdfs:
            target = png_dir / pdf.stem
            subprocess.run([tool, "-png", "-r", "110", "-singlefile", str(pdf), str(target)],
                           check=True)  # fmt: skip
            self.stdout.write(f"PNG  {target}.png")
