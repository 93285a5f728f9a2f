"""Browser journeys: Playwright for Python driving Debian's headless Chromium.

No browser is ever downloaded: the session's ``browser`` (tests/browser.py) is Debian's
/usr/bin/chromium (override with CHROMIUM_PATH).
Without it the journeys are skipped with a reason, unless REQUIRE_E2E is set (CI).
A screenshot of the page is saved under test-results/ when a journey fails; with
E2E_SHOTS=1 the journeys also keep a screenshot of a chosen step under var/e2e-shots/.

Shared helpers (below): ``shop`` (fixture: test gateway, links to this server, a policy
preset), ``signed_in`` (a customer's or a staff member's session cookie), ``page_in`` and
``admin_page`` (a page in its own context), ``checkout_pay`` (cart, checkout, the test
card, in any language), ``order_number_on``, ``outbox_email``/``outbox_link`` (what the
customer received and the link they click), ``csp_violations_watch`` and ``shot``.
Staff sign-in through the real pages with a TOTP code: ``tests.staff.staff_login_browser``.
Wait with Playwright's ``expect``/``wait_for``, or a page's clock (``page.clock``), never
with a sleep.
"""

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core import mail
from django.test import Client
from django.utils import translation
from playwright.sync_api import expect

from policies.services import preset_load
from tests.browser import CHROMIUM
from tests.staff import staff_login, staff_login_browser

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs a loop

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-results"
SHOTS = Path(__file__).resolve().parents[2] / "var" / "e2e-shots"
TEST_CARD = "4242 4242 4242 4242"
HELD_CARD = "4100 0000 0000 0019"  # the test gateway's card that the fraud check holds


def pytest_collection_modifyitems(config, items):
    if os.environ.get("SKIP_BROWSER_AUDITS"):
        # CI's second pass (SQLite): the page audits (overflow + axe, Lighthouse, English
        # left on translated pages) do not depend on the database and ran in the first.
        audit = pytest.mark.skip(reason="browser audits ran in the PostgreSQL pass")
        for item in items:
            if item.get_closest_marker("browser_audit"):
                item.add_marker(audit)
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


# --- shared helpers for the journeys ----------------------------------------------------------


@pytest.fixture
def shop(settings, live_server):
    """The shop as a customer meets it: the local test gateway, links to this server, staff
    alerts to an inbox. Returns a function that activates a shipped policy preset (a shop
    sells only under a policy)."""
    settings.PAYMENT_GATEWAY = "test"
    settings.SITE_URL = live_server.url
    settings.STAFF_ALERT_EMAILS = ["staff@keystore.test"]

    def preset_activate(slug: str) -> None:
        preset_load(slug=slug, activate=True)

    return preset_activate


def signed_in(*, page, base_url: str, user, staff: bool = False) -> None:
    """Sign ``user`` in by giving the browser a real session cookie. ``staff``: a completed
    admin sign-in (password and TOTP, see ``tests.staff.staff_login``); journeys that are
    about signing in use ``admin_page``, which types the TOTP code."""
    client = Client()
    if staff:
        staff_login(client=client, user=user)
    else:
        client.force_login(user)
    cookie = client.cookies["sessionid"]
    page.context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": base_url}])


def page_in(*, browser, base_url: str, locale: str = "en-US", **options):
    """A fresh page in its own browser context (own cookies), in ``locale``; ``options``
    go to ``browser.new_context`` (a viewport, say). Close it with ``page.context.close()``."""
    context = browser.new_context(base_url=base_url, locale=locale, **options)
    context.set_default_timeout(15_000)
    return context.new_page()


def admin_page(*, browser, base_url: str, user, sign_in_pages: bool = False, **options):
    """A page in its own context, signed in to the admin as staff ``user``.

    By default the session is the one a completed sign-in leaves (password and TOTP, see
    ``tests.staff.staff_login``): the sign-in pages cost seconds each time and the
    journeys below are about what staff do once in. ``sign_in_pages``: sign in through the
    real pages instead (password, then the code an authenticator app would show)."""
    admin = page_in(browser=browser, base_url=base_url, **options)
    if sign_in_pages:
        staff_login_browser(page=admin, user=user)
    else:
        signed_in(page=admin, base_url=base_url, user=user, staff=True)
    return admin


def csp_violations_watch(page) -> list[str]:
    """A list that fills with every Content-Security-Policy report and page error the
    browser logs on ``page`` from now on (assert it is empty at the end)."""
    violations: list[str] = []

    def on_console(message):
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            violations.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: violations.append(f"{page.url}: {error}"))
    return violations


def shot(page, name: str) -> None:
    """Keep a screenshot of this step as var/e2e-shots/<name>.png when E2E_SHOTS is set
    (for a person to look at; off by default, the suite has a time budget)."""
    if not os.environ.get("E2E_SHOTS"):
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def outbox_email(*, to: str, subject: str = ""):
    """The one email sent to ``to`` whose subject contains ``subject``."""
    found = [m for m in mail.outbox if m.to == [to] and subject in m.subject]
    assert len(found) == 1, [(m.to, m.subject) for m in mail.outbox]
    return found[0]


def outbox_link(*, message, path: str) -> str:
    """The first link in ``message``'s text whose path starts with ``path``, as a path on
    this server (what a customer clicks in the email)."""
    match = re.search(r"https?://[^/\s]+(" + re.escape(path) + r"\S*)", message.body)
    assert match, message.body
    return match[1]


def order_number_on(page) -> str:
    """The order number in the order page's heading."""
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(re.compile(r"KS-[0-9A-Z]{8}"))
    return re.search(r"KS-[0-9A-Z]{8}", heading.inner_text())[0]


def checkout_pay(
    *,
    page,
    product_slug: str,
    card: str = TEST_CARD,
    email: str | None = None,
    language: str = "en",
    on_page: Callable[[str], None] | None = None,
) -> str:
    """Buy one unit of a product through the cart, checkout and the test gateway, reading
    every label in ``language``. Outside English each label must be translated (an English
    fallback fails here, not silently). ``on_page`` is called with "product", "cart",
    "checkout" and "order" once each page is shown (to read it, say). Returns the order
    number shown on the order page."""
    seen = on_page or (lambda name: None)
    with translation.override(language):

        def t(msgid: str) -> str:
            text = translation.gettext(msgid)
            assert language == "en" or text != msgid, f"{msgid!r} is not translated ({language})"
            return text

        page.goto(f"/products/{product_slug}/")
        seen("product")
        page.get_by_role("button", name=t("Add to cart")).click()
        page.goto("/cart/")
        seen("cart")
        page.get_by_role("link", name=t("Checkout"), exact=True).click()
        page.get_by_label(t("Billing name")).fill("Grace Hopper")
        seen("checkout")
        if email:
            address = re.compile("^" + re.escape(t("Email address")))
            page.get_by_role("textbox", name=address).fill(email)
        required = page.locator('.consent input[type="checkbox"][aria-required="true"]')
        for index in range(required.count()):
            required.nth(index).check()
        page.get_by_role("button", name=t("Continue to payment")).click()
        expect(page.get_by_role("heading", name=t("Test payment"))).to_be_visible()
        page.get_by_label(t("Card number")).fill(card)
        pay = t("Pay %(total)s").split("%(")[0].strip()
        page.get_by_role("button", name=re.compile("^" + re.escape(pay))).click()
        number = order_number_on(page)
        seen("order")
        return number
