"""Product images: checked by content like claim evidence (core.images), re-encoded
without metadata, stored through Django's storage API (the public ``default`` storage,
served under MEDIA_URL), with WebP thumbnails at a few widths for ``srcset``.

Staff upload images in the Product admin. The upload is refused unless Pillow reads it
as PNG, JPEG or WebP within the size and pixel limits below; the stored original is the
re-encoded image under a random name. Thumbnails are made by a task enqueued when the
transaction commits (``catalog.thumbnails.product_image_thumbnails_make``: idempotent, run it twice and
nothing changes; ``catalog.thumbnails``). A product without images shows its platform's placeholder
(``static/img/placeholders/<name>.svg``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.templatetags.static import static
from django.utils.translation import gettext as _

from core.images import (
    EMPTY,
    NOT_AN_IMAGE,
    TOO_BIG,
    TOO_MANY_PIXELS,
    CleanImage,
    ImageRejected,
    image_clean,
    image_read_limited,
)

from .models import Platform, Product, ProductImage, ProductKind
from .tasks import product_image_thumbnails_task

PRODUCT_IMAGE_MAX_BYTES = 8 * 1024 * 1024
PRODUCT_IMAGE_MAX_PIXELS = 25_000_000  # 5000 x 5000
PRODUCT_IMAGE_MIN_WIDTH = 320
ORIGINALS_DIR = "products/originals"

# The placeholder drawn for each platform (static/img/placeholders/), gift cards apart.
PLACEHOLDERS = {value: value for value in Platform.values}
GIFT_PLACEHOLDER = "gift"
PLACEHOLDER_WIDTH, PLACEHOLDER_HEIGHT = 640, 480


class ProductImageRejected(ValueError):
    """The upload is not an acceptable product image; the message is shown to staff."""


def _message(rejected: ImageRejected) -> str:
    if rejected.reason == EMPTY:
        return _("The file is empty.")
    if rejected.reason == TOO_BIG:
        return _("The file is larger than %(mb)s MB. Please upload a smaller image.") % {
            "mb": f"{rejected.limit / (1024 * 1024):g}"
        }
    if rejected.reason == TOO_MANY_PIXELS:
        return _("The image is too large (over %(mp)s megapixels).") % {
            "mp": f"{rejected.limit / 1_000_000:g}"
        }
    assert rejected.reason == NOT_AN_IMAGE
    return _("This file is not a PNG, JPEG or WebP image (its content was checked, not its name).")


def product_image_clean(*, upload) -> CleanImage:
    """Read and check an uploaded product image. Raises ProductImageRejected."""
    try:
        data = image_read_limited(upload=upload, max_bytes=PRODUCT_IMAGE_MAX_BYTES)
        clean = image_clean(data=data, max_pixels=PRODUCT_IMAGE_MAX_PIXELS)
    except ImageRejected as rejected:
        raise ProductImageRejected(_message(rejected)) from None
    if clean.width < PRODUCT_IMAGE_MIN_WIDTH:
        raise ProductImageRejected(
            _("The image is %(width)s pixels wide; product images need at least %(min)s.")
            % {"width": clean.width, "min": PRODUCT_IMAGE_MIN_WIDTH}
        )
    return clean


def product_image_file(*, image: CleanImage) -> ContentFile:
    """The clean image as a file to assign to ``ProductImage.file``, under a random name."""
    return ContentFile(image.data, name=f"{secrets.token_hex(12)}.{image.extension}")


def product_image_add(
    *, product: Product, image: CleanImage, alt_text: str = "", position: int = 0
) -> ProductImage:
    """Store a clean image for ``product``; thumbnails follow once the transaction commits."""
    record = ProductImage(
        product=product,
        alt_text=alt_text,
        position=position,
        width=image.width,
        height=image.height,
    )
    record.file.save(product_image_file(image=image).name, ContentFile(image.data), save=False)
    record.save()
    product_image_thumbnails_schedule(image_id=record.pk)
    return record


def product_image_thumbnails_schedule(*, image_id: int) -> None:
    transaction.on_commit(lambda: product_image_thumbnails_task.delay(image_id))


def product_image_files_delete(*, names: list[str]) -> None:
    """Remove stored files of a deleted image (after its row is gone)."""
    for name in names:
        if name:
            default_storage.delete(name)


def product_image_file_names(*, image: ProductImage) -> list[str]:
    return [image.file.name, *image.thumbnails.values()]


@dataclass(frozen=True)
class Picture:
    """What an ``<img>`` needs: address, responsive candidates, intrinsic size, text."""

    src: str
    srcset: str
    width: int
    height: int
    alt: str
    placeholder: bool


def placeholder_name_for(*, product: Product) -> str:
    if product.kind == ProductKind.GIFT_CODE and product.platform == Platform.MULTI:
        return GIFT_PLACEHOLDER
    return PLACEHOLDERS.get(product.platform, "multi")


def product_pictures(*, product: Product) -> list[Picture]:
    """Every picture of ``product`` in order (its placeholder when it has none). Reads
    ``product.images.all()``: prefetch it when listing products."""
    pictures = [picture_for(image=image, product=product) for image in product.images.all()]
    return pictures or [placeholder_picture(product=product)]


def placeholder_picture(*, product: Product) -> Picture:
    return Picture(
        src=static(f"img/placeholders/{placeholder_name_for(product=product)}.svg"),
        srcset="",
        width=PLACEHOLDER_WIDTH,
        height=PLACEHOLDER_HEIGHT,
        alt="",  # decorative: the product name is written beside it
        placeholder=True,
    )


def picture_for(*, image: ProductImage, product: Product) -> Picture:
    alt = image.alt_text or product.name
    thumbs = sorted((int(w), name) for w, name in (image.thumbnails or {}).items())
    if not thumbs:  # the thumbnail task has not run yet: the original, as uploaded
        return Picture(
            src=image.file.url,
            srcset="",
            width=image.width,
            height=image.height,
            alt=alt,
            placeholder=False,
        )
    storage = image.file.storage
    largest = thumbs[-1][0]
    middle = thumbs[min(1, len(thumbs) - 1)][1]
    return Picture(
        src=storage.url(middle),
        srcset=", ".join(f"{storage.url(name)} {w}w" for w, name in thumbs),
        width=largest,
        height=round(image.height * largest / image.width) if image.width else largest,
        alt=alt,
        placeholder=False,
    )
