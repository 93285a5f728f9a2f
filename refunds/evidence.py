"""Evidence images: checked by content, re-encoded without metadata, stored privately.

An upload is accepted only when Pillow recognises it as PNG, JPEG or WebP from its bytes
(never the file name or the browser's Content-Type), it is within the size and pixel
limits, and it decodes fully. What is stored is a fresh image made from the decoded pixels
(EXIF, XMP, ICC and text chunks are dropped; the EXIF orientation is applied first), saved
under a random name in the private storage (``STORAGES["private"]``: local disk under
``PRIVATE_MEDIA_ROOT``, or an S3-compatible bucket), which no URL serves directly.
"""

from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

from core.images import (
    EMPTY,
    NOT_AN_IMAGE,
    TOO_BIG,
    TOO_MANY_PIXELS,
    CleanImage,
    ImageRejected,
    image_read_limited,
)
from core.images import image_clean as core_image_clean
from core.storage import private_storage

EVIDENCE_DIR = "evidence"
# Names we give (see evidence_write); anything else is never opened.
_STORAGE_NAME = re.compile(
    rf"^{EVIDENCE_DIR}/[0-9a-f]{{2}}/[0-9a-f]{{32}}(?:_[A-Za-z0-9]{{7}})?\.(?:png|jpg|webp)$"
)


def evidence_max_bytes() -> int:
    return int(getattr(settings, "EVIDENCE_MAX_BYTES", 5 * 1024 * 1024))


def evidence_max_pixels() -> int:
    """Largest image accepted, in pixels: a full 5K display (5120x2880) fits, a 5000x5000
    image does not. Checked from the header before any pixel is decoded; it also bounds
    the memory of one decode (about 4 bytes per pixel, at most twice at a time)."""
    return int(getattr(settings, "EVIDENCE_MAX_PIXELS", 16_000_000))


class EvidenceRejected(ValueError):
    """The upload is not an acceptable image; the message is shown to the customer."""


def _too_big(limit: int) -> str:
    return _("The file is larger than %(mb)s MB. Please send a smaller screenshot.") % {
        "mb": f"{limit / (1024 * 1024):g}"
    }


def _not_an_image() -> str:
    return _("This file is not a PNG, JPEG or WebP image. Please attach a screenshot.")


def _too_many_pixels(limit: int) -> str:
    return _(
        "The image is too large (over %(mp)s megapixels). Please send a smaller screenshot."
    ) % {"mp": f"{limit / 1_000_000:g}"}


_MESSAGES = {
    EMPTY: lambda limit: _("The file is empty."),
    TOO_BIG: _too_big,
    NOT_AN_IMAGE: lambda limit: _not_an_image(),
    TOO_MANY_PIXELS: _too_many_pixels,
}


def image_clean(*, data: bytes) -> CleanImage:
    """Check ``data`` by content and return it re-encoded without metadata.

    Raises EvidenceRejected with a customer-readable message.
    """
    try:
        return core_image_clean(data=data, max_pixels=evidence_max_pixels())
    except ImageRejected as rejected:
        raise EvidenceRejected(_MESSAGES[rejected.reason](rejected.limit)) from None


def upload_clean(*, upload) -> CleanImage:
    """Read an uploaded file (within the size limit) and clean it."""
    try:
        data = image_read_limited(upload=upload, max_bytes=evidence_max_bytes())
    except ImageRejected as rejected:
        raise EvidenceRejected(_MESSAGES[rejected.reason](rejected.limit)) from None
    return image_clean(data=data)


def evidence_write(*, image: CleanImage) -> str:
    """Store the clean image under a random name; returns the storage name."""
    name = f"{EVIDENCE_DIR}/{secrets.token_hex(1)}/{secrets.token_hex(16)}.{image.extension}"
    return private_storage().save(name, ContentFile(image.data))


def _checked(storage_name: str) -> str:
    if not _STORAGE_NAME.match(storage_name or ""):
        raise FileNotFoundError(storage_name)
    return storage_name


def evidence_open(*, storage_name: str) -> File:
    """The stored image, opened for reading (the caller closes it). Raises
    FileNotFoundError for a name we did not give or a file that is gone."""
    from botocore.exceptions import ClientError  # deferred: only S3 storage raises it

    name = _checked(storage_name)
    try:
        return private_storage().open(name, "rb")
    except ClientError as error:  # S3: the object is missing (or unreadable)
        raise FileNotFoundError(storage_name) from error


def evidence_delete(*, storage_name: str) -> None:
    """Remove the stored image (nothing happens if it is already gone)."""
    private_storage().delete(_checked(storage_name))
