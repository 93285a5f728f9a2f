"""Catalog tasks: thin wrappers over catalog functions."""

from __future__ import annotations

from celery import shared_task

from .thumbnails import product_image_thumbnails_make


@shared_task(acks_late=True, name="storefront.tasks.product_image_thumbnails_task")
def product_image_thumbnails_task(image_id: int) -> int:
    return len(product_image_thumbnails_make(image_id=image_id))
