"""One way every app reads its tunable numbers: ``settings.<NAME>``, else the environment
variable of that name, else the app's documented default."""

from __future__ import annotations

import os
from collections.abc import Mapping

from django.conf import settings


def int_setting_get(*, name: str, defaults: Mapping[str, int], prefix: str = "") -> int:
    """The integer setting ``prefix + name`` (Django setting, environment, then default)."""
    full = f"{prefix}{name}"
    value = getattr(settings, full, None)
    if value is None:
        value = os.environ.get(full)
    return int(value) if value is not None else defaults[name]
