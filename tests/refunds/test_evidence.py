"""Evidence uploads are checked by content, re-encoded without metadata, stored privately,
and served only to the claim's owner and staff."""

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from core.storage import private_storage
from refunds.evidence import EvidenceRejected, image_clean
from refunds.models import Evidence
from refunds.services import evidence_create
from tests.factories import claim_new, png_bytes, upload_new
from tests.staff import staff_login


def huge_png(width: int, height: int) -> bytes:
    """A tiny file that declares width x height pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0"))
        + chunk(b"IEND", b"")
    )


def test_html_with_a_jpeg_header_is_refused():
    fake = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00<html><script>alert(1)</script></html>"
    with pytest.raises(EvidenceRejected, match="not a PNG, JPEG or WebP"):
        image_clean(data=fake)


def test_svg_is_refused_even_when_named_png():
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    with pytest.raises(EvidenceRejected, match="not a PNG, JPEG or WebP"):
        image_clean(data=svg)


def test_gif_is_refused_although_pillow_can_read_it():
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="GIF")
    with pytest.raises(EvidenceRejected):
        image_clean(data=out.getvalue())


def test_a_20000_by_20000_png_is_refused_as_too_many_pixels():
    with pytest.raises(EvidenceRejected, match="megapixels"):
        image_clean(data=huge_png(20000, 20000))


def test_an_image_just_over_the_pixel_limit_is_refused(settings):
    settings.EVIDENCE_MAX_PIXELS = 100 * 100
    with pytest.raises(EvidenceRejected, match="megapixels"):
        image_clean(data=png_bytes(size=(101, 100)))


@pytest.mark.django_db
def test_an_oversized_file_is_refused_before_it_is_decoded(settings):
    settings.EVIDENCE_MAX_BYTES = 1024
    with pytest.raises(EvidenceRejected, match="larger than"):
        evidence_create(upload=upload_new(data=b"\x89PNG" + b"0" * 2048))
    assert not Evidence.objects.exists()


def test_a_truncated_png_is_refused():
    with pytest.raises(EvidenceRejected):
        image_clean(data=png_bytes(size=(300, 300))[:200])


@pytest.mark.django_db
def test_a_good_jpeg_is_reencoded_without_exif_under_a_random_private_name(settings):
    original = png_bytes(size=(120, 80), exif=True, fmt="JPEG")
    assert b"SecretCam" in original
    evidence = evidence_create(upload=upload_new(name="../../etc/passwd.jpg", data=original))

    path = Path(private_storage().path(evidence.storage_name))
    stored = path.read_bytes()
    assert path.is_relative_to(settings.PRIVATE_MEDIA_ROOT)
    assert not path.is_relative_to(settings.MEDIA_ROOT)
    assert "passwd" not in evidence.storage_name and len(path.stem) == 32
    assert b"SecretCam" not in stored and b"Leaky Editor" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG"
        assert image.size == (120, 80)
        assert not image.getexif()
    assert (evidence.content_type, evidence.width, evidence.height) == ("image/jpeg", 120, 80)
    assert evidence.size == len(stored)
    import hashlib

    assert evidence.sha256 == hashlib.sha256(stored).hexdigest()


def test_png_text_chunks_are_dropped():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "home address: 1 Secret Lane")
    out = io.BytesIO()
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(out, format="PNG", pnginfo=info)
    clean = image_clean(data=out.getvalue())
    assert b"Secret Lane" not in clean.data
    with Image.open(io.BytesIO(clean.data)) as image:
        assert image.mode == "RGBA"


def test_webp_is_accepted():
    clean = image_clean(data=png_bytes(fmt="WEBP"))
    assert clean.content_type == "image/webp"


@pytest.fixture
def claim_with_evidence(preset, delivered, customer):
    order, key = delivered
    evidence = evidence_create(
        upload=upload_new(data=png_bytes(exif=True, fmt="JPEG")), uploaded_by=customer
    )
    claim = claim_new(order=order, key=key, evidence_ids=[evidence.pk])
    evidence.refresh_from_db()
    assert evidence.claim == claim
    return claim, evidence


def test_evidence_is_served_to_its_owner_with_safe_headers(client, claim_with_evidence, customer):
    claim, evidence = claim_with_evidence
    client.force_login(customer)
    response = client.get(f"/claims/evidence/{evidence.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == f'inline; filename="evidence-{evidence.pk}.jpg"'
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    body = b"".join(response.streaming_content)
    assert b"SecretCam" not in body


def test_evidence_is_a_404_for_another_customer_and_for_anonymous(
    client, claim_with_evidence, other_customer
):
    claim, evidence = claim_with_evidence
    assert client.get(f"/claims/evidence/{evidence.pk}/").status_code == 404
    client.force_login(other_customer)
    assert client.get(f"/claims/evidence/{evidence.pk}/").status_code == 404


def test_evidence_is_served_to_staff_who_may_view_claims(client, claim_with_evidence, agent):
    claim, evidence = claim_with_evidence
    staff_login(client=client, user=agent)
    assert client.get(f"/claims/evidence/{evidence.pk}/").status_code == 200


def test_staff_without_claim_permission_get_a_404(client, claim_with_evidence):
    from tests.factories import UserFactory

    claim, evidence = claim_with_evidence
    staff_login(client=client, user=UserFactory(email="intern@example.com", is_staff=True))
    assert client.get(f"/claims/evidence/{evidence.pk}/").status_code == 404


def test_no_public_media_url_serves_evidence(client, claim_with_evidence, settings):
    claim, evidence = claim_with_evidence
    assert client.get(f"/media/{evidence.storage_name}").status_code == 404
