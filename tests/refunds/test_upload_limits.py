"""Uploads cannot take the shop down: pixels checked from the header before decoding, the
body size bounded, a rate limit per client IP and per claim, a quota of images per claim."""

import struct
import zlib

import pytest
from PIL import ImageFile

from refunds.evidence import EvidenceRejected, image_clean
from refunds.models import Evidence
from refunds.services import EvidenceLimited, evidence_create
from tests.factories import png_bytes, upload_new


def blank_png(width: int, height: int) -> bytes:
    """A real, fully decodable width x height PNG (grey 8-bit), compressed row by row so
    that making it never holds the pixels in memory: 5000x5000 is ~25 kB on disk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    packer = zlib.compressobj(9)
    row = b"\0" * (width + 1)  # filter byte + one grey byte per pixel
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


@pytest.fixture(autouse=True)
def _english():
    """Messages are matched in English whatever an earlier test left active."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def decodes(monkeypatch):
    """Records every pixel decode Pillow performs (the real decoder still runs)."""
    seen = []
    real_load = ImageFile.ImageFile.load

    def load(self):
        if self.tile:  # pixels still to decode (later calls are no-ops)
            seen.append(self.size)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return seen


def test_a_5000_by_5000_png_is_refused_from_its_header_without_decoding(decodes):
    data = blank_png(5000, 5000)
    with pytest.raises(EvidenceRejected, match="too large \\(over 16 megapixels\\)"):
        image_clean(data=data)
    assert decodes == []


def test_a_5k_screenshot_still_fits_and_is_decoded_once(decodes):
    clean = image_clean(data=blank_png(5120, 2880))
    assert (clean.width, clean.height) == (5120, 2880)
    assert decodes == [(5120, 2880)]


def test_the_quota_of_a_claim_counts_stored_images_only(db, settings):
    settings.EVIDENCE_QUOTA_PER_CLAIM = 2
    bad = upload_new(name="bad.png", data=b"not an image")
    with pytest.raises(EvidenceRejected, match="not a PNG"):
        evidence_create(upload=bad, ip="198.51.100.1", claim_ref="claim:1")
    for _ in range(2):
        evidence_create(upload=upload_new(), ip="198.51.100.1", claim_ref="claim:1")
    with pytest.raises(EvidenceLimited, match="already has 2 screenshots"):
        evidence_create(upload=upload_new(), ip="198.51.100.2", claim_ref="claim:1")
    evidence_create(upload=upload_new(), ip="198.51.100.1", claim_ref="claim:2")
    assert Evidence.objects.count() == 3


def test_a_claim_is_rate_limited_whatever_the_ip(db, settings, decodes):
    settings.EVIDENCE_UPLOADS_PER_CLAIM = 3
    for i in range(3):
        evidence_create(upload=upload_new(), ip=f"198.51.100.{i}", claim_ref="order:1")
    decoded = len(decodes)
    with pytest.raises(EvidenceLimited, match="Too many screenshots"):
        evidence_create(upload=upload_new(), ip="198.51.100.9", claim_ref="order:1")
    assert len(decodes) == decoded  # refused before the file was looked at
    evidence_create(upload=upload_new(), ip="198.51.100.9", claim_ref="order:2")


def test_a_client_ip_is_rate_limited_across_claims_and_each_ip_separately(db, settings):
    settings.EVIDENCE_UPLOADS_PER_IP = 3
    for i in range(3):
        evidence_create(upload=upload_new(), ip="203.0.113.5", claim_ref=f"order:{i}")
    with pytest.raises(EvidenceLimited, match="Too many screenshots"):
        evidence_create(upload=upload_new(), ip="203.0.113.5", claim_ref="order:9")
    evidence_create(upload=upload_new(), ip="203.0.113.6", claim_ref="order:9")


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_the_claim_draft_page_rate_limits_uploads_per_ip(
    client, settings, preset, delivered, customer
):
    from .test_claim_form import form_data

    settings.EVIDENCE_UPLOADS_PER_IP = 2
    order, key = delivered
    client.force_login(customer)
    url = f"/claims/new/{order.number}/"
    data = form_data(key, preview="1")
    data["screenshots"] = [upload_new(name=f"s{i}.png", data=png_bytes()) for i in range(3)]
    response = client.post(url, data, REMOTE_ADDR="203.0.113.5")
    assert response.status_code == 400
    assert "Too many screenshots were sent in a short time" in response.content.decode()
    assert Evidence.objects.count() == 2
    data["screenshots"] = [upload_new(name="other.png", data=png_bytes())]
    other = client.post(url, data, REMOTE_ADDR="203.0.113.6")  # another IP, same draft
    assert other.status_code == 200
    assert Evidence.objects.count() == 3


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_a_claim_form_body_bigger_than_its_screenshots_can_be_is_refused_unread(
    client, settings, preset, delivered, customer
):
    from .test_claim_form import form_data

    settings.EVIDENCE_MAX_FILES = 1
    settings.EVIDENCE_MAX_BYTES = 1024
    order, key = delivered
    client.force_login(customer)
    data = form_data(key, preview="1")
    data["screenshots"] = [upload_new(name="big.png", data=b"\0" * (400 * 1024))]
    response = client.post(f"/claims/new/{order.number}/", data)
    assert response.status_code == 413
    assert "too large" in response.content.decode()
    assert not Evidence.objects.exists()


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_a_client_over_its_limit_is_refused_before_its_screenshots_are_parsed(
    client, settings, preset, delivered, customer
):
    from .test_claim_form import form_data

    settings.EVIDENCE_UPLOADS_PER_IP = 1
    order, key = delivered
    client.force_login(customer)
    url = f"/claims/new/{order.number}/"
    big = png_bytes(size=(400, 400), color=(1, 2, 3)) + b"\0" * (70 * 1024)  # > the text
    data = form_data(key, preview="1")
    data["screenshots"] = [upload_new(name="a.png", data=png_bytes())]
    assert client.post(url, data, REMOTE_ADDR="203.0.113.5").status_code == 200
    data["screenshots"] = [upload_new(name="b.png", data=big)]
    refused = client.post(url, data, REMOTE_ADDR="203.0.113.5")
    assert refused.status_code == 429
    assert "what you typed is still in the form" in refused.content.decode()
    text_only = client.post(url, form_data(key, preview="1"), REMOTE_ADDR="203.0.113.5")
    assert text_only.status_code == 200  # the claim itself can still be written
    assert Evidence.objects.count() == 1
