"""Screenshots of the customer pages against a running shop (``make run``), on a phone
(360x780) and a desktop (1366x900), in English and Arabic.

    .venv/bin/python scripts/screenshots.py [--base-url http://127.0.0.1:8000]
        [--out var/screenshots/theme] [--copy-to /work/shots/theme]

It buys a product twice through the local test gateway as a demo customer (created in
the shop's database, so run it from the same checkout as the server), files a claim on
the first order, then photographs home, a product page, the cart, checkout, the order page, My
Account and the claim form. Needs Debian's Chromium (CHROMIUM_PATH to override) and the
shop's test gateway (the default under ``make run``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

VIEWPORTS = {"phone": (360, 780), "desktop": (1366, 900)}
LANGUAGES = ("en", "ar")
CUSTOMER = "screenshots@example.com"


def _customer_session() -> str:
    """A signed-in session for the demo customer (in the server's database)."""
    import django

    django.setup()
    from django.test import Client

    from accounts.models import User

    user = User.objects.filter(email=CUSTOMER).first()
    if user is None:
        user = User.objects.create_user(email=CUSTOMER, password=None)
    from allauth.account.models import EmailAddress

    EmailAddress.objects.update_or_create(
        user=user, email=CUSTOMER, defaults={"verified": True, "primary": True}
    )
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def _product_slug() -> str:
    from catalog.selectors import product_list

    return next(p.slug for p in product_list() if p.kind == "license_key")


def _buy(page, slug: str) -> str:
    page.goto(f"/products/{slug}/?lang=en")
    page.get_by_role("button", name="Add to cart").click()
    page.goto("/cart/")
    page.get_by_role("link", name="Checkout", exact=True).click()
    page.get_by_label("Billing name").fill("Grace Hopper")
    boxes = page.locator('.consent input[type="checkbox"][aria-required="true"]')
    for index in range(boxes.count()):
        boxes.nth(index).check()
    page.get_by_role("button", name="Continue to payment").click()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name=re.compile("^Pay ")).click()
    page.locator("[data-status]").first.wait_for()
    _release_if_held(_order_number(page.url))
    page.reload()
    page.locator("[data-key]").first.wait_for(timeout=120_000)
    return page.url


def _release_if_held(number: str) -> None:
    """Repeated test purchases trip the fraud velocity rules: release the hold as staff
    would (the demo's staff account is the actor)."""
    from accounts.models import User
    from orders.models import Order
    from orders.services import order_hold_release

    order = Order.objects.get(number=number)
    if order.status == "on_hold":
        staff = User.objects.filter(is_superuser=True).order_by("pk").first()
        order_hold_release(order=order, actor=staff, note="screenshots script")


def _order_number(order_url: str) -> str:
    found = re.search(r"KS-[0-9A-Z]{8}", order_url)
    if found is None:
        raise RuntimeError(f"no order number in {order_url}")
    return found[0]


def _claim_file(order_url: str) -> None:
    """File a claim on that order through the real service, so My Account lists one."""
    from orders.models import Order
    from refunds.services import claim_submit

    order = Order.objects.get(number=_order_number(order_url))
    line = order.lines.first()
    if line is None:
        raise RuntimeError(f"order {order.number} has no line to claim")
    try:
        claim_submit(
            order=order,
            order_line=line,
            key=line.keys.first(),
            reason="key_invalid",
            failed_at=None,
            description="The key is refused as invalid.",
            user=order.user,
            guest_email=order.email,
        )
    except Exception as error:  # the active preset may refuse it: the pages still render
        print(f"no claim filed: {error}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--out", default=str(ROOT / "var" / "screenshots" / "theme"))
    parser.add_argument("--copy-to", default="")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM, CHROMIUM_ARGS

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    session = _customer_session()
    slug = _product_slug()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(base_url=args.base_url, locale="en-US")
        context.add_cookies([{"name": "sessionid", "value": session, "url": args.base_url}])
        page = context.new_page()
        _claim_file(_buy(page, slug))
        order_url = _buy(page, slug)
        claim_url = f"/claims/new/{_order_number(order_url)}/"
        page.goto(f"/products/{slug}/")
        page.get_by_role("button", name="Add to cart").click()  # a cart to show
        pages = {
            "home": "/",
            "product": f"/products/{slug}/",
            "cart": "/cart/",
            "checkout": "/orders/checkout/",
            "order": order_url,
            "account": "/account/",
            "claim-form": claim_url,
        }
        for language in LANGUAGES:
            for device, (width, height) in VIEWPORTS.items():
                page.set_viewport_size({"width": width, "height": height})
                for name, url in pages.items():
                    joiner = "&" if "?" in url else "?"
                    page.goto(f"{url}{joiner}lang={language}")
                    page.wait_for_load_state("networkidle")
                    path = out / f"{name}-{device}-{language}.png"
                    page.screenshot(path=str(path), full_page=True)
                    print(path)
        page.goto("/?lang=en")  # leave the customer's language as it was
        browser.close()
    if args.copy_to:
        target = Path(args.copy_to)
        target.mkdir(parents=True, exist_ok=True)
        for png in out.glob("*.png"):
            shutil.copy2(png, target / png.name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
