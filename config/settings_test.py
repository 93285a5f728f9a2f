"""Settings for the test suite: the normal settings with fixed test secrets."""

import os

os.environ["KEYSTORE_ENV"] = "test"

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
