"""Catalog tasks: thin wrappers over storefront services."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, name="storefront.tasks.product_image_thumbnails_task")
def product_image_thumbnails_task(image_id: int) -> int:
    from .images import product_image_thumbnails_make

    return len(product_image_thumbnails_make(image_id=image_id))
