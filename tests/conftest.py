import os

import pytest
from django.core.cache.backends.redis import RedisCache
from django.utils import translation
from hypothesis import settings as hypothesis_settings

from tests.browser import browser  # noqa: F401 - the one Chromium, shared by e2e and smoke
from tests.factories import CategoryFactory, ProductFactory, UserFactory

# CI (CI=true): every property test is replayed from the same derandomized examples, so a
# run fails or passes for the code, not for the draw, and a loaded machine is no reason to
# fail (no deadline). A test's explicit @settings (e.g. max_examples) still win.
hypothesis_settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, print_blob=True
)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

# A test with one of these markers uses the database, a browser or a service.
DEPENDENT_MARKERS = ("django_db", "e2e", "browser_audit", "smoke", "celery_worker", "postgres")


def item_is_db_independent(*, item: pytest.Item) -> bool:
    """True when the test cannot touch the database: pytest-django blocks any query from a
    test that neither has the django_db marker nor uses a database fixture (they all depend
    on django_db_setup), so such a test gives the same result on SQLite and PostgreSQL."""
    if "django_db_setup" in item.fixturenames:
        return False
    return not any(item.get_closest_marker(name) for name in DEPENDENT_MARKERS)


def redis_cache_clear_own_keys(self) -> None:
    """cache.clear() in tests: delete this process's keys only (KEY_PREFIX is per process,
    the test settings), never FLUSHDB: the Redis database is also the broker of the real
    Celery worker a test may start (under pytest-xdist each test process has a database
    of its own, config/settings_test.py)."""
    client = self._cache.get_client(None, write=True)
    keys = list(client.scan_iter(match=f"{self.key_prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


RedisCache.clear = redis_cache_clear_own_keys


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads xdist_group and -m deselects
def pytest_collection_modifyitems(config, items):
    """Skip what this machine cannot run, saying why; CI sets REQUIRE_* to forbid skipping.

    Also marks each test for the runner:
    - ``xdist_group("redis")``: a real Celery worker consumes the suite's Redis queue, so
      those tests share one xdist worker (with ``--dist loadgroup``; `make test` uses
      loadfile, see the Makefile); the smoke
      stack (one per module, its own database) gets its own group;
    - ``db_independent``: see :func:`item_is_db_independent` (CI runs them in its
      PostgreSQL + Redis pass only: ``-m "not db_independent"`` in the SQLite pass).
    """
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    has_redis = bool(os.environ.get("REDIS_URL"))
    for item in items:
        if item.get_closest_marker("celery_worker"):
            item.add_marker(pytest.mark.xdist_group("redis"))
        if item.get_closest_marker("smoke"):
            item.add_marker(pytest.mark.xdist_group("smoke"))
        if item_is_db_independent(item=item):
            item.add_marker(pytest.mark.db_independent)
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
def _default_language():
    """Each test starts in the default language: a request in Arabic through the test
    client (LocaleMiddleware runs in this thread) leaves Arabic active after it, and under
    pytest-xdist any test may follow it on the same worker."""
    yield
    translation.deactivate()


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
