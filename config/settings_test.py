"""Settings for the test suite: the normal settings with fixed test secrets."""

import os
from urllib.parse import urlsplit, urlunsplit

os.environ["KEYSTORE_ENV"] = "test"


def _redis_url_for_xdist_worker() -> None:
    """Under pytest-xdist each test process gets its own Redis database (the suite's number
    minus the worker's index), so a real Celery worker started by one test process never
    takes another's tasks and no process clears another's keys. Set in the environment,
    once, so workers and servers the tests start inherit it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    url = os.environ.get("REDIS_URL", "")
    if not (worker.startswith("gw") and url) or os.environ.get("KEYSTORE_TEST_REDIS_SPLIT"):
        return
    parts = urlsplit(url)
    database = int(parts.path.lstrip("/") or 0)
    own = (database - int(worker[2:])) % 16
    os.environ["REDIS_URL"] = urlunsplit(parts._replace(path=f"/{own}"))
    os.environ["KEYSTORE_TEST_REDIS_SPLIT"] = "1"


_redis_url_for_xdist_worker()

from .settings import *  # noqa: E402,F403
from .settings import CACHES  # noqa: E402  (named too: mypy does not count the star import)

# Tasks run in-process by default; tests marked `celery_worker` switch to a real worker
# consuming from Redis (see tests/conftest.py).
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PRIVATE_MEDIA_ROOT = VAR_DIR / "test-private"  # noqa: F405
if not os.environ.get("REDIS_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    CACHES["default"]["KEY_PREFIX"] = f"keystore-test-{os.getpid()}"  # noqa: F405
