"""The ZATCA QR of a Saudi simplified tax invoice: the TLV payload decodes back to the five
fields, and the QR drawn in the PDF reads back (zxing-cpp) as that payload."""

import base64
import io

import pytest
from pypdf import PdfReader

from invoices.pdf import document_pdf_render, document_qr_payload
from invoices.zatca import zatca_tlv_decode, zatca_tlv_encode

from .snapshots import snapshot_sample


def test_tlv_is_tag_length_value_in_utf8_and_base64():
    payload = zatca_tlv_encode(
        seller_name="نوفا كيز",
        vat_number="310122393500003",
        timestamp="2026-11-30T10:15:00Z",
        total="115.00",
        vat_total="15.00",
    )
    raw = base64.b64decode(payload)
    name = "نوفا كيز".encode()
    assert raw[:2] == bytes([1, len(name)]) and raw[2 : 2 + len(name)] == name
    assert zatca_tlv_decode(payload) == {
        "seller_name": "نوفا كيز",
        "vat_number": "310122393500003",
        "timestamp": "2026-11-30T10:15:00Z",
        "total": "115.00",
        "vat_total": "15.00",
    }


def test_a_value_longer_than_a_tlv_length_byte_is_refused():
    with pytest.raises(ValueError):
        zatca_tlv_encode(seller_name="x" * 256, vat_number="1", timestamp="t", total="1",
                         vat_total="0")  # fmt: skip


def test_the_qr_in_the_pdf_reads_back_as_the_invoice_payload():
    zxingcpp = pytest.importorskip("zxingcpp")
    snapshot = snapshot_sample(regime="ksa")
    payload = document_qr_payload(snapshot=snapshot)
    assert zatca_tlv_decode(payload) == {
        "seller_name": "NovaKeys Trading Est.",
        "vat_number": "310122393500003",
        "timestamp": "2026-11-30T09:15:00Z",
        "total": "115.00",
        "vat_total": "15.00",
    }
    page = PdfReader(io.BytesIO(document_pdf_render(snapshot=snapshot))).pages[0]
    images = list(page.images)
    assert len(images) == 1
    decoded = [result.text for result in zxingcpp.read_barcodes(images[0].image)]
    assert decoded == [payload]
