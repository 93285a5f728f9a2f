"""The WebP thumbnails of a product image, at a few widths for ``srcset``: made by
``catalog.tasks.product_image_thumbnails_task`` once the upload's transaction commits
(``catalog.images.product_image_thumbnails_schedule``)."""

from __future__ import annotations

import io

from django.core.files.base import ContentFile
from PIL import Image

from core.versioned_cache import versioned_cache_bump

from .models import ProductImage
from .selectors import CATALOG_PRODUCTS_CACHE

THUMBNAIL_WIDTHS = (320, 640, 960)
THUMBNAIL_QUALITY = 82
THUMBNAILS_DIR = "products/thumbs"


def _thumbnail_name(*, image: ProductImage, width: int) -> str:
    stem = image.file.name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return f"{THUMBNAILS_DIR}/{image.pk}/{stem}-{width}.webp"


def thumbnail_widths_for(*, original_width: int) -> list[int]:
    """The thumbnail widths for an original: never upscaled, at least one."""
    widths = [w for w in THUMBNAIL_WIDTHS if w <= original_width]
    return widths or [original_width]


def product_image_thumbnails_make(*, image_id: int) -> dict[str, str]:
    """Write the WebP thumbnails of one image and record their names. Idempotent: the
    names are derived from the original's, and an image whose thumbnails are all recorded
    and present is left alone. An image deleted meanwhile is skipped."""
    image = ProductImage.objects.filter(pk=image_id).first()
    if image is None or not image.file:
        return {}
    storage = image.file.storage
    with image.file.open("rb") as handle, Image.open(handle) as source:
        source.load()
        width, height = source.size
        wanted = {
            str(w): _thumbnail_name(image=image, width=w)
            for w in thumbnail_widths_for(original_width=width)
        }
        if image.thumbnails == wanted and all(storage.exists(n) for n in wanted.values()):
            return wanted
        picture: Image.Image = source
        if source.mode not in ("RGB", "RGBA"):
            picture = source.convert("RGBA" if "transparency" in source.info else "RGB")
        for w_text, name in wanted.items():
            w = int(w_text)
            resized = picture.resize(
                (w, max(1, round(height * w / width))), Image.Resampling.LANCZOS
            )
            out = io.BytesIO()
            resized.save(out, format="WEBP", quality=THUMBNAIL_QUALITY, method=4)
            if storage.exists(name):
                storage.delete(name)
            storage.save(name, ContentFile(out.getvalue()))
    ProductImage.objects.filter(pk=image.pk).update(thumbnails=wanted, width=width, height=height)
    # an update() sends no post_save: the product page's copies are dropped here
    versioned_cache_bump(name=CATALOG_PRODUCTS_CACHE)
    return wanted
