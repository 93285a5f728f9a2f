"""Settings as a fresh process reads them from a given environment (settings are read
once, at import: a different environment needs a process of its own)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def settings_run(*, code: str, **environ: str) -> subprocess.CompletedProcess:
    """Run ``code`` (Python, after ``django.setup()`` if it asks for it) in a new process
    with test secrets and only ``environ`` besides ``PATH``."""
    env = {
        "PATH": os.environ["PATH"],
        "KEYSTORE_ENV": "test",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **environ,
    }
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
