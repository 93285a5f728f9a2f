"""The ZATCA QR of a Saudi simplified tax invoice: the TLV payload decodes back to the five
fields, and the QR drawn in the PDF (vector rectangles, fixed mask) reads back (zxing-cpp,
page drawn by poppler) as that payload."""

import base64
import io
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from invoices.pdf import document_pdf_render, document_qr_payload
from invoices.zatca import zatca_qr_matrix, zatca_tlv_decode, zatca_tlv_encode

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


def qr_read(*, zxingcpp, image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image)]


def page_render(data: bytes, tmp_path: Path, *, dpi: int) -> Image.Image:
    """The first page as poppler draws it (``pdftoppm``), as a reader app would see it."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    (tmp_path / "page.pdf").write_bytes(data)
    subprocess.run([pdftoppm, "-r", str(dpi), "-png", "-singlefile", "-f", "1", "-l", "1",
                    str(tmp_path / "page.pdf"), str(tmp_path / "page")], check=True)  # fmt: skip
    return Image.open(tmp_path / "page.png")


@pytest.mark.parametrize("dpi", [100, 200])
def test_the_qr_in_the_pdf_reads_back_as_the_invoice_payload(tmp_path, dpi):
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
    data = document_pdf_render(snapshot=snapshot)
    assert not list(PdfReader(io.BytesIO(data)).pages[0].images)  # drawn as vectors
    assert qr_read(zxingcpp=zxingcpp, image=page_render(data, tmp_path, dpi=dpi)) == [payload]


def test_the_qr_of_other_invoices_reads_back_too(tmp_path):
    """Other sellers, amounts and times: other payload lengths, versions and patterns under
    the fixed mask."""
    zxingcpp = pytest.importorskip("zxingcpp")
    snapshot = snapshot_sample(regime="ksa")
    snapshot["seller"] = dict(snapshot["seller"], legal_name="مؤسسة نوفا كيز للتجارة الإلكترونية")
    snapshot["issued_at"] = "2027-02-03T23:59:59+00:00"
    snapshot["totals"] = dict(snapshot["totals"], gross="123456.78", tax="16102.62")
    payload = document_qr_payload(snapshot=snapshot)
    data = document_pdf_render(snapshot=snapshot)
    assert qr_read(zxingcpp=zxingcpp, image=page_render(data, tmp_path, dpi=150)) == [payload]


@pytest.mark.parametrize("length", [20, 60, 100, 140, 200, 300])
def test_the_qr_matrix_with_the_fixed_mask_decodes_at_every_size(length):
    zxingcpp = pytest.importorskip("zxingcpp")
    payload = base64.b64encode(bytes(range(length % 256)) * (length // 256 + 1))[:length].decode()
    matrix = zatca_qr_matrix(payload=payload)
    size = len(matrix) + 8
    image = Image.new("L", (size, size), 255)
    image.putdata([0 if 4 <= y < size - 4 and 4 <= x < size - 4 and matrix[y - 4][x - 4]
                   else 255 for y in range(size) for x in range(size)])  # fmt: skip
    assert qr_read(
        zxingcpp=zxingcpp, image=image.resize((size * 4, size * 4), Image.Resampling.NEAREST)
    ) == [payload]
