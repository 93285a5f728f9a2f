"""Debian's headless Chromium driven by Playwright for Python: one browser per test session.

No browser is ever downloaded: we launch /usr/bin/chromium (override with CHROMIUM_PATH).
The browser journeys (tests/e2e) and the production smoke test (tests/smoke) share the one
``browser`` fixture (registered in tests/conftest.py): Playwright's sync API cannot run
two instances at once in one process.
"""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser():
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the sync API runs a loop
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
