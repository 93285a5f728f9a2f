"""Screenshots of the product page, policy pages and checkout in French and Arabic, on a phone
(360 px) and a desktop (1366 px), from a running shop (``make run``):

    .venv/bin/python scripts/shots_content.py http://127.0.0.1:8000 var/screenshots/content
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

PAGES = {
    "product": "/products/windows-11-pro/",
    "policy-refund": "/policies/refund/",
    "policy-delivery": "/policies/delivery/",
}


def main(base: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        for language in ("fr", "ar"):
            for width, height in ((360, 780), (1366, 900)):
                context = browser.new_context(
                    base_url=base, locale=language, viewport={"width": width, "height": height}
                )
                context.set_default_timeout(60_000)
                page = context.new_page()
                for name, path in PAGES.items():
                    page.goto(f"{path}?lang={language}")
                    target = out / f"{name}-{language}-{width}.png"
                    page.screenshot(path=str(target), full_page=True)
                    print(target)
                # checkout: the consents cite "L221-28 13°" inside the sentence
                page.goto(f"{PAGES['product']}?lang={language}")
                page.locator("form[action$='/add/'] button[type=submit]").first.click()
                page.goto("/orders/checkout/")
                target = out / f"checkout-{language}-{width}.png"
                page.screenshot(path=str(target), full_page=True)
                print(target)
                context.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
