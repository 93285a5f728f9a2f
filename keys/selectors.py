"""Key inventory reads."""

from __future__ import annotations


def key_available_counts(*, product_ids: list[int]) -> dict[int, int]:
    """Available keys per product.

    Placeholder until the key inventory lands: no product reports stock yet.
    """
    return {}
