"""Evidence images: checked by content, re-encoded without metadata, stored privately.

An upload is accepted only when Pillow recognises it as PNG, JPEG or WebP from its bytes
(never the file name or the browser's Content-Type), it is within the size and pixel
limits, and it decodes fully. What is stored is a fresh image made from the decoded pixels
(EXIF, XMP, ICC and text chunks are dropped; the EXIF orientation is applied first), saved
under a random name in the private storage (``STORAGES["private"]``: local disk under
``PRIVATE_MEDIA_ROOT``, or an S3-compatible bucket), which no URL serves directly.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from core.storage import private_storage

# Stored format, MIME type and file extension for each accepted Pillow format.
ACCEPTED_FORMATS = {
    "PNG": ("image/png", "png"),
    "JPEG": ("image/jpeg", "jpg"),
    "WEBP": ("image/webp", "webp"),
}
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


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int
    sha256: str


def _read_limited(upload, limit: int) -> bytes:
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise EvidenceRejected(_too_big(limit))
    if hasattr(upload, "seek"):
        upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise EvidenceRejected(_too_big(limit))
    if not data:
        raise EvidenceRejected(_("The file is empty."))
    return data


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


def image_clean(*, data: bytes) -> CleanImage:
    """Check ``data`` by content and return it re-encoded without metadata.

    Raises EvidenceRejected with a customer-readable message.
    """
    max_pixels = evidence_max_pixels()
    with warnings.catch_warnings():
        # A decompression bomb warning is a refusal, not a log line.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format
                if fmt not in ACCEPTED_FORMATS:
                    raise EvidenceRejected(_not_an_image())
                width, height = probe.size
                if width * height > max_pixels:
                    raise EvidenceRejected(_too_many_pixels(max_pixels))
                probe.verify()
            # verify() leaves the image unusable: open again to decode the pixels.
            with Image.open(io.BytesIO(data)) as image:
                if image.format != fmt or image.width * image.height > max_pixels:
                    raise EvidenceRejected(_not_an_image())
                image.load()
                ImageOps.exif_transpose(image, in_place=True)
                clean = _pixels_only(image, fmt)
        except EvidenceRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise EvidenceRejected(_too_many_pixels(max_pixels))
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
            raise EvidenceRejected(_not_an_image())

    content_type, extension = ACCEPTED_FORMATS[fmt]
    out = io.BytesIO()
    if fmt == "JPEG":
        clean.save(out, format="JPEG", quality=90, optimize=True)
    elif fmt == "PNG":
        # zlib's default level: `optimize` costs seconds of CPU on a large screenshot
        clean.save(out, format="PNG", compress_level=6)
    else:
        clean.save(out, format="WEBP", quality=90)
    encoded = out.getvalue()
    return CleanImage(
        data=encoded,
        content_type=content_type,
        extension=extension,
        width=clean.width,
        height=clean.height,
        sha256=hashlib.sha256(encoded).hexdigest(),
    )


def _pixels_only(image: Image.Image, fmt: str) -> Image.Image:
    """A new image holding only the pixels: no EXIF, XMP, ICC profile or text chunks.

    At most two copies of the pixels exist at once (the decoded image and the new one; a
    mode conversion replaces the decoded copy rather than adding a third)."""
    if fmt == "JPEG":
        target = "L" if image.mode in ("1", "L") else "RGB"
    else:
        has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        target = "RGBA" if has_alpha else ("L" if image.mode in ("1", "L") else "RGB")
    source = image if image.mode == target else image.convert(target)
    if source is not image:
        image.close()  # the decoded pixels are no longer needed: free them now
    clean = Image.new(target, source.size)
    clean.paste(source)
    return clean


def upload_clean(*, upload) -> CleanImage:
    """Read an uploaded file (within the size limit) and clean it."""
    return image_clean(data=_read_limited(upload, evidence_max_bytes()))


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
    from botocore.exceptions import ClientError

    name = _checked(storage_name)
    try:
        return private_storage().open(name, "rb")
    except ClientError as error:  # S3: the object is missing (or unreadable)
        raise FileNotFoundError(storage_name) from error


def evidence_delete(*, storage_name: str) -> None:
    """Remove the stored image (nothing happens if it is already gone)."""
    private_storage().delete(_checked(storage_name))
