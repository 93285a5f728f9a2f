"""Uploaded images checked by content and re-encoded without metadata.

An upload is accepted only when Pillow recognises it as PNG, JPEG or WebP from its bytes
(never the file name or the browser's Content-Type), it is within the size and pixel
limits, and it decodes fully. What comes out is a fresh image made from the decoded
pixels (EXIF, XMP, ICC and text chunks are dropped; the EXIF orientation is applied
first). Claim evidence (``refunds.evidence``) and product images (``catalog.images``)
both go through here, each with its own limits and wording.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

# Stored format, MIME type and file extension for each accepted Pillow format.
ACCEPTED_FORMATS = {
    "PNG": ("image/png", "png"),
    "JPEG": ("image/jpeg", "jpg"),
    "WEBP": ("image/webp", "webp"),
}

# Why an image was refused (ImageRejected.reason).
EMPTY = "empty"
TOO_BIG = "too_big"
NOT_AN_IMAGE = "not_an_image"
TOO_MANY_PIXELS = "too_many_pixels"


class ImageRejected(ValueError):
    """The upload is not an acceptable image. ``reason`` is one of the constants above and
    ``limit`` the limit it broke (bytes or pixels); callers word the message."""

    def __init__(self, reason: str, limit: int = 0):
        super().__init__(reason)
        self.reason = reason
        self.limit = limit


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int
    sha256: str


def image_read_limited(*, upload, max_bytes: int) -> bytes:
    """The bytes of an uploaded file, reading at most ``max_bytes`` + 1 of them."""
    size = getattr(upload, "size", None)
    if size is not None and size > max_bytes:
        raise ImageRejected(TOO_BIG, max_bytes)
    if hasattr(upload, "seek"):
        upload.seek(0)
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ImageRejected(TOO_BIG, max_bytes)
    if not data:
        raise ImageRejected(EMPTY)
    return data


def image_decode(*, data: bytes, max_pixels: int) -> tuple[Image.Image, str]:
    """Check ``data`` by content and decode it: (pixels only, Pillow format name).

    The pixel count is checked from the header before any pixel is decoded; a
    decompression bomb warning is a refusal, not a log line."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format
                if fmt not in ACCEPTED_FORMATS:
                    raise ImageRejected(NOT_AN_IMAGE)
                width, height = probe.size
                if width * height > max_pixels:
                    raise ImageRejected(TOO_MANY_PIXELS, max_pixels)
                probe.verify()
            # verify() leaves the image unusable: open again to decode the pixels.
            with Image.open(io.BytesIO(data)) as image:
                if image.format != fmt or image.width * image.height > max_pixels:
                    raise ImageRejected(NOT_AN_IMAGE)
                image.load()
                ImageOps.exif_transpose(image, in_place=True)
                return image_pixels_only(image=image, fmt=fmt), fmt
        except ImageRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageRejected(TOO_MANY_PIXELS, max_pixels)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
            raise ImageRejected(NOT_AN_IMAGE)


def image_clean(*, data: bytes, max_pixels: int) -> CleanImage:
    """Check ``data`` by content and return it re-encoded, in its own format, without
    metadata. Raises ImageRejected."""
    clean, fmt = image_decode(data=data, max_pixels=max_pixels)
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


def image_pixels_only(*, image: Image.Image, fmt: str) -> Image.Image:
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
