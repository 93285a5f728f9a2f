import os

import pytest

from tests.browser import browser  # noqa: F401 - the one Chromium, shared by e2e and smoke
from tests.factories import CategoryFactory, ProductFactory, UserFactory


def pytest_collection_modifyitems(config, items):
    """Skip what this machine cannot run, saying why; CI sets REQUIRE_* to forbid skipping."""
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    has_redis = bool(os.environ.get("REDIS_URL"))
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            if os.environ.get("REQUIRE_POSTGRES"):
                raise pytest.UsageError(
                    "REQUIRE_POSTGRES is set but DATABASE_URL is not PostgreSQL"
                )
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL"))
        if "celery_worker" in item.keywords and not has_redis:
            item.add_marker(pytest.mark.skip(reason="needs Redis for a real worker: set REDIS_URL"))


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _staff_alerts_at_once(settings):
    """Staff alerts go out as soon as they commit (no digest window) unless a test sets
    one (tests/core/test_outbox.py proves the digest)."""
    settings.OUTBOX_STAFF_DIGEST_SECONDS = 0


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def staff_user(db):
    return UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def category(db):
    return CategoryFactory(name="Operating systems", slug="operating-systems")


@pytest.fixture
def product(db, category):
    return ProductFactory(category=category, name="Windows 11 Pro", slug="windows-11-pro")


@pytest.fixture
def celery_worker_live(transactional_db):
    """A real Celery worker thread consuming from Redis, sharing this test's database."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    app.conf.task_always_eager = False
    try:
        with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING") as worker:
            yield worker
    finally:
        app.conf.task_always_eager = True
