"""The PDF says what the law asks, in the customer's language: its text is extracted back
(pypdf) and checked in English, French and Arabic (shaped, right to left), and the Saudi
simplified tax invoice is bilingual."""

import io

import pytest
from pypdf import PdfReader

from invoices.pdf import document_pdf_render

from .snapshots import snapshot_sample


def pdf_text(snapshot) -> str:
    data = document_pdf_render(snapshot=snapshot)
    assert data.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_english_invoice_has_seller_buyer_number_dates_lines_and_totals():
    text = pdf_text(snapshot_sample(language="en"))
    for expected in (
        "Invoice",
        "AllKeyMasters SAS",
        "12 rue de la Paix",
        "VAT number: FR40303265045",
        "Company registration: RCS Paris 303 265 045",
        "Jonas Becker",
        "jonas@example.de",
        "Germany (DE)",
        "AKM-2026-000042",
        "Issue date",
        "November 30, 2026",
        "Date of supply",
        "KS-7F3K9Q2M",
        "Windows 11 Pro",
        "Office 2021 Professional Plus",
        "19 %",
        "45.23",
        "8.59",
        "53.82",
        "-5.98",
        "Discount (coupon WINTER10)",
        "Total net",
        "87.16",
        "Total VAT",
        "16.56",
        "Total paid (EUR)",
        "103.72",
    ):
        assert expected in text, expected


def test_french_invoice_reads_in_french_with_french_numbers():
    text = pdf_text(snapshot_sample(language="fr"))
    for expected in ("Facture", "N° de TVA", "FACTURÉ À", "Allemagne (DE)", "Date d'émission",
                     "30 novembre 2026", "Date de livraison", "Taux TVA", "Total HT",
                     "Total TVA", "Total payé TTC (EUR)", "103,72", "45,23", "Remise (code WINTER10)"):  # fmt: skip
        assert expected in text, expected


def test_arabic_invoice_is_shaped_and_right_to_left():
    text = pdf_text(snapshot_sample(language="ar"))
    # the extracted text maps the shaped glyphs back to the Arabic letters
    for expected in ("فاتورة", "الرقم الضريبي", "تاريخ الإصدار", "تاريخ التوريد", "الإجمالي",
                     "ألمانيا", "نوفمبر", "AKM-2026-000042", "103.72"):  # fmt: skip
        assert expected in text, expected
    assert "Invoice" not in text


def test_a_business_in_another_member_state_sees_its_vat_number():
    snapshot = snapshot_sample(regime="reverse_charge")
    snapshot["mentions"] = [{"code": "reverse_charge", "text": "Reverse charge — VAT to be "
                             "accounted for by the recipient (Article 196, Directive 2006/112/EC)."}]  # fmt: skip
    text = pdf_text(snapshot)
    assert "Becker GmbH" in text
    assert "VAT number: DE136695976" in text
    assert "Article 196, Directive 2006/112/EC" in text


def test_saudi_simplified_invoice_is_bilingual():
    text = pdf_text(snapshot_sample(regime="ksa", language="ar"))
    for expected in ("فاتورة ضريبية مبسطة", "Simplified tax invoice", "VAT number",
                     "الرقم الضريبي", "310122393500003", "NK-2026-000007", "2026-11-30",
                     "Total VAT", "15.00", "115.00", "SAR", "سارة العتيبي"):  # fmt: skip
        assert expected in text, expected


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_a_credit_note_names_the_invoice_it_credits(language):
    snapshot = snapshot_sample(language=language)
    snapshot.update(type="credit_note", number="AKM-CN-2026-000003",
                    invoice_number="AKM-2026-000042",
                    invoice_issued_at="2026-11-30T09:15:00+00:00", reason="Refund")  # fmt: skip
    text = pdf_text(snapshot)
    title = {"en": "Credit note", "fr": "Avoir", "ar": "إشعار دائن"}[language]
    assert title in text
    assert "AKM-CN-2026-000003" in text and "AKM-2026-000042" in text
    assert ("-103.72" if language == "en" else "103") in text


def test_many_lines_flow_onto_more_pages_with_page_numbers():
    snapshot = snapshot_sample()
    snapshot["lines"] = snapshot["lines"] * 30
    data = document_pdf_render(snapshot=snapshot)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 2
    assert f"Page 2 of {len(reader.pages)}" in reader.pages[1].extract_text()
