"""Browser journeys: Playwright for Python driving Debian's headless Chromium.

No browser is ever downloaded: the session's ``browser`` (tests/browser.py) is Debian's
/usr/bin/chromium (override with CHROMIUM_PATH).
Without it the journeys are skipped with a reason, unless REQUIRE_E2E is set (CI).
A screenshot of the page is saved under test-results/ when a journey fails.
"""

import os
from pathlib import Path

import pytest

from tests.browser import CHROMIUM

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs a loop

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-results"


def pytest_collection_modifyitems(config, items):
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("REQUIRE_E2E"):
        raise pytest.UsageError(f"REQUIRE_E2E is set but no Chromium at {CHROMIUM}")
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    for item in items:
        if "tests/e2e" in str(item.fspath):
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        page = item.funcargs.get("page")
        if page is not None:
            ARTIFACTS.mkdir(exist_ok=True)
            path = ARTIFACTS / f"{item.name}.png"
            try:
                page.screenshot(path=str(path), full_page=True)
                report.sections.append(("screenshot", str(path)))
            except Exception as exc:  # the page may be gone; the failure itself matters more
                report.sections.append(("screenshot", f"not saved: {exc}"))


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()
