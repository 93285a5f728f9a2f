"""The production smoke stack: started once per module, stopped at its end, waits bounded.

Needs Debian's nginx, redis-server, Chromium and a PostgreSQL server (SMOKE_DATABASE_URL,
or the suite's DATABASE_URL with ``_smoke`` appended to the database name). Without them
the smoke test is skipped with the reason, unless REQUIRE_SMOKE is set (CI's PostgreSQL
pass), which turns a missing part into an error.
"""

from __future__ import annotations

import os
import secrets
import ssl
from pathlib import Path

import pytest

from tests.browser import CHROMIUM

from .stack import NGINX, REDIS_SERVER, Stack, certificate_make, smoke_database_url

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-results"
SKU = "WIN11-PRO"
STOCK = 6
TRACK_PER_IP = 4
SHOP = {
    "SHOP_NAME": "Smoke Test Keys",
    "SHOP_LEGAL_NAME": "Smoke Test Keys SARL",
    "SHOP_SUPPORT_EMAIL": "support@smoke-test-keys.example",
    "DEFAULT_FROM_EMAIL": "Smoke Test Keys <orders@smoke-test-keys.example>",
    "STAFF_ALERT_EMAILS": "staff@smoke-test-keys.example",
    "ORDERS_TRACK_PER_IP": str(TRACK_PER_IP),
}


def missing_parts() -> list[str]:
    missing = []
    if not Path(NGINX).exists():
        missing.append(f"no nginx at {NGINX} (apt-get install nginx-light)")
    if not REDIS_SERVER:
        missing.append("no redis-server (apt-get install redis-server)")
    if not Path(CHROMIUM).exists():
        missing.append(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    if smoke_database_url() is None:
        missing.append("no PostgreSQL: set DATABASE_URL (or SMOKE_DATABASE_URL) to postgres://")
    return missing


def pytest_collection_modifyitems(config, items):
    smoke = [item for item in items if item.get_closest_marker("smoke")]
    if not smoke:
        return
    missing = missing_parts()
    if not missing:
        return
    if os.environ.get("REQUIRE_SMOKE"):
        raise pytest.UsageError("REQUIRE_SMOKE is set but " + "; ".join(missing))
    skip = pytest.mark.skip(reason="production smoke test: " + "; ".join(missing))
    for item in smoke:
        item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach the tail of every server's log (and a screenshot of the page)."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and item.get_closest_marker("smoke"):
        stack = item.funcargs.get("stack")
        if isinstance(stack, Stack):
            for name in sorted(stack.logs):
                tail = stack.log_tail(name, lines=25)
                if tail:
                    report.sections.append((f"smoke log: {name}", tail))
        page = item.funcargs.get("page")
        if page is not None:
            ARTIFACTS.mkdir(exist_ok=True)
            path = ARTIFACTS / f"{item.name}.png"
            try:
                page.screenshot(path=str(path), full_page=True)
                report.sections.append(("screenshot", str(path)))
            except Exception as exc:
                report.sections.append(("screenshot", f"not saved: {exc}"))


def _shop_setup(stack: Stack) -> None:
    """What a merchant does once: schema, static files, setup_shop, catalog, stock."""
    # migrate and collectstatic (production: hashed, compressed) are independent one-offs
    stack.manage_parallel(["migrate", "--noinput"], ["collectstatic", "--noinput"])
    # the documented first run: identity (from SHOP_* in the env), preset, owner account
    stack.manage(
        "setup_shop", "--no-input", "--preset", "allkeymasters",
        "--owner-email", "owner@smoke-test-keys.example", "--country", "FR",
        env={**stack.env, "SETUP_OWNER_PASSWORD": secrets.token_urlsafe(24)},
    )  # fmt: skip
    stack.manage(
        "shell",
        "-c",
        "from catalog.models import Category, Product\n"
        "c, _ = Category.objects.get_or_create(slug='operating-systems',"
        " defaults={'name': 'Operating systems'})\n"
        f"Product.objects.get_or_create(sku='{SKU}', defaults=dict(category=c,"
        " name='Windows 11 Pro', slug='windows-11-pro', platform='windows',"
        " price='29.90', currency='EUR', is_active=True,"
        " activation_instructions='Settings > System > Activation > Change product key.'))",
    )
    codes = stack.run / "codes.txt"
    codes.write_text(
        "".join(f"SMOKE-{i:04d}-{os.urandom(6).hex().upper()}\n" for i in range(STOCK))
    )
    stack.manage("import_keys", "--product", SKU, "--supplier", "Smoke supplier", "--cost", "4.20",
                 str(codes))  # fmt: skip


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    from tests.orders.smtp_sink import SmtpSink
    from tests.orders.stripe_standin import StripeStandIn

    run = tmp_path_factory.mktemp("smoke")
    stack = Stack(run=run, database_url=smoke_database_url())
    try:
        stack.stripe = StripeStandIn().start()
        stack.smtp = SmtpSink().start()
        stack.cert, _key = certificate_make(run)
        stack.ports_choose()
        stack.environment(shop=SHOP)
        stack.database_create()
        stack.redis_start()
        _shop_setup(stack)
        stack.gunicorn_start()
        stack.celery_start()
        stack.nginx_start()
        stack.https_ready()
        stack.stripe.webhook_url = f"{stack.base_url}/orders/webhooks/stripe/"
        stack.stripe.webhook_secret = stack.env["STRIPE_WEBHOOK_SECRET"]
        stack.stripe.webhook_ssl_context = ssl.create_default_context(cafile=str(stack.cert))
        yield stack
    finally:
        stack.stop_all()
        for part in (stack.stripe, stack.smtp):
            if part is not None:
                part.stop()
