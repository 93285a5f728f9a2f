"""What every benchmark needs: its PostgreSQL database, Django set up, a fresh product.

Benchmarks use fixed test secrets (KEYSTORE_ENV=test) so nothing is written under var/.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("KEYSTORE_ENV", "test")


def database_url_get() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(
            "Set DATABASE_URL to PostgreSQL, e.g. postgres://postgres@127.0.0.1:5432/keystore_bench"
        )
    return url


def database_ensure(url: str) -> None:
    """Create the PostgreSQL database named in ``url`` if it does not exist."""
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(url)
    admin = psycopg.connect(
        host=cfg["HOST"] or None,
        port=cfg["PORT"] or None,
        user=cfg["USER"] or None,
        password=cfg["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    with admin:
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]
        ).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{cfg["NAME"]}"')


def django_ready() -> str:
    """Database created and migrated, Django set up; returns DATABASE_URL."""
    url = database_url_get()
    database_ensure(url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return url


def bench_product_new(*, label: str, **fields):
    """A new product in the "Bench" category, unique to this run."""
    from decimal import Decimal

    from catalog.models import Category, Product

    run = f"{int(time.time() * 1000)}-{os.getpid()}"
    category, _ = Category.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    defaults = {"platform": "windows", "price": Decimal("10.00"), "low_stock_threshold": 0}
    return Product.objects.create(
        category=category,
        name=f"{label} {run}",
        slug=f"{label.lower().replace(' ', '-')}-{run}",
        sku=f"{label.upper().replace(' ', '-')}-{run}",
        **{**defaults, **fields},
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def small_size_counts(*, database_url: str, script: str, args: list[str]) -> dict[str, int]:
    """Query counts at the small size: ``script --count-only *args`` run by a child process
    in ``<name>_small`` (its own database beside the full-size one); the child prints them
    as JSON on its last line."""
    import json
    import subprocess

    name = database_url.rsplit("/", 1)[1].split("?")[0]
    small_url = database_url.replace(f"/{name}", f"/{name}_small", 1)
    out = subprocess.run(
        [sys.executable, script, "--count-only", *args],
        env={**os.environ, "DATABASE_URL": small_url}, capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"small-size run failed:\n{out.stdout}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])
