"""Lighthouse 12 (npm, ``package.json``) with Debian's Chromium on the home page and a
product page, as a phone (Lighthouse's default mobile emulation and throttling): 100 in
accessibility, best practices and SEO, at least 90 in performance (the median of three
runs when the first is below: the suite shares the CPU Lighthouse times).

The shop is served by a real HTTP server (pytest-django's ``live_server``, static files
through WhiteNoise as in production). Each run prints
``RESULT name=lighthouse page=<page> performance=.. accessibility=.. best_practices=.. seo=..``.
Without ``node_modules`` the test is skipped with that reason, unless REQUIRE_E2E is set.
"""

from __future__ import annotations

import json
import os
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from tests.browser import CHROMIUM
from tests.factories import CategoryFactory, ProductFactory, keys_create

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser_audit,
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]
LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage "
    "--disable-background-networking --disable-component-update --disable-sync --no-first-run"
)
REQUIRED = {"accessibility": 100, "best-practices": 100, "seo": 100}
PERFORMANCE_MIN = 90


def lighthouse_run(url: str) -> dict:
    if not LIGHTHOUSE.exists():
        reason = f"Lighthouse is not installed ({LIGHTHOUSE} missing): run `npm ci`"
        if os.environ.get("REQUIRE_E2E"):
            pytest.fail(reason)
        pytest.skip(reason)
    # Lighthouse itself sometimes fails to record the page load's trace (its runtime error
    # NO_NAVSTART says "Please run Lighthouse again"): one more run then, never for a score.
    for attempt in (1, 2):
        completed = subprocess.run(  # noqa: S603  (our own node_modules, fixed arguments)
            [
                str(LIGHTHOUSE),
                url,
                f"--chrome-flags={CHROME_FLAGS}",
                "--output=json",
                "--output-path=stdout",
                "--quiet",
                f"--only-categories={','.join(CATEGORIES)}",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "CHROME_PATH": CHROMIUM},
            check=False,
        )
        if attempt == 1 and "Please run Lighthouse again" in completed.stderr + completed.stdout:
            continue
        break
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout)


def failing_audits(report: dict, category: str) -> list[str]:
    refs = report["categories"][category]["auditRefs"]
    audits = report["audits"]
    return [
        f"{ref['id']}: {audits[ref['id']]['title']} ({audits[ref['id']].get('displayValue', '')})"
        for ref in refs
        if ref["weight"]
        and audits[ref["id"]]["score"] is not None
        and audits[ref["id"]]["score"] < 1
    ]


@pytest.fixture
def catalog(shop, settings):
    shop("allkeymasters")
    settings.CATALOG_GRID_CACHE_SECONDS = 0
    systems = CategoryFactory(name="Operating systems", slug="operating-systems")
    products = []
    for index, (name, price) in enumerate(
        [
            ("Windows 11 Pro", "29.90"),
            ("Windows 11 Home", "24.90"),
            ("Office 2021 Professional Plus", "39.90"),
            ("Norton 360 Deluxe", "22.50"),
            ("Steam Wallet gift card 20 EUR", "20.00"),
            ("Xbox gift card 25 EUR", "25.00"),
        ]
    ):
        product = ProductFactory(
            name=name,
            slug=f"product-{index}",
            category=systems,
            price=Decimal(price),
            description=f"{name}: a genuine key, delivered by email and on screen.",
        )
        keys_create(product=product, count=2)
        products.append(product)
    return products


def test_home_and_product_page_score_100_in_lighthouse(live_server, catalog):
    pages = {"home": "/", "product": catalog[0].get_absolute_url()}
    problems = []
    for name, path in pages.items():
        report = lighthouse_run(f"{live_server.url}{path}")
        scores = {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES}
        if scores["performance"] < PERFORMANCE_MIN:
            # Performance is timed on this machine's CPU, which the rest of the suite
            # shares (pytest-xdist): as Lighthouse's documentation advises for variable
            # hosts, judge the median of three runs, never the best one.
            runs = [report] + [lighthouse_run(f"{live_server.url}{path}") for _ in range(2)]
            runs.sort(key=lambda run: run["categories"]["performance"]["score"])
            report = runs[1]
            scores["performance"] = round(report["categories"]["performance"]["score"] * 100)
        print(
            f"RESULT name=lighthouse page={name} performance={scores['performance']} "
            f"accessibility={scores['accessibility']} "
            f"best_practices={scores['best-practices']} seo={scores['seo']}"
        )
        for category, minimum in REQUIRED.items():
            if scores[category] < minimum:
                problems.append(f"{name} {category} {scores[category]}: ")
                problems[-1] += "; ".join(failing_audits(report, category))
        if scores["performance"] < PERFORMANCE_MIN:
            problems.append(
                f"{name} performance {scores['performance']}: "
                + "; ".join(failing_audits(report, "performance"))
            )
    assert not problems, "\n".join(problems)
