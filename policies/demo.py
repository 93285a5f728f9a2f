"""Demo data: every shipped preset loaded, one of them active (``make run``)."""

from __future__ import annotations

import os

from .rules import preset_slugs_shipped
from .selectors import preset_active_record_get
from .services import preset_load

DEMO_PRESET = os.environ.get("KEYSTORE_POLICY_PRESET", "allkeymasters")


def demo_seed(stdout, keys_per_product: int = 0) -> None:
    for slug in preset_slugs_shipped():
        preset_load(slug=slug)
    if preset_active_record_get() is None:
        preset_load(slug=DEMO_PRESET, activate=True)
    active = preset_active_record_get()
    stdout.write(
        f"Policies: {len(preset_slugs_shipped())} presets loaded, "
        f"active: {active.slug if active else 'none'}"
    )
