"""Rate limits: a fixed-window counter per (scope, key), kept in Django's cache.

Every limit in the shop goes through here so they behave alike: the window starts at the
first hit and lasts ``window_seconds``; a hit is allowed while the window holds at most
``limit`` hits. With Redis as the cache the count is shared by every web process; with
the in-memory cache (development, tests) it is per process.

- :func:`ratelimit_hit` counts one hit and says whether it is allowed;
- :func:`ratelimit_check` says whether one more hit would be allowed, without counting
  (so a caller can count only what it must: the tracking page counts failed lookups, the
  evidence quota counts stored images);
- :func:`ratelimit_reset` forgets a key's window.

Keys are hashed, so an email address or an IP never appears in the cache in clear and
any text is a valid key.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache

KEY_PREFIX = "rl"


def _cache_key(scope: str, key: str) -> str:
    digest = hashlib.sha256(f"{scope}\x00{key}".encode()).hexdigest()[:40]
    return f"{KEY_PREFIX}:{scope}:{digest}"


def ratelimit_count(*, scope: str, key: str) -> int:
    """Hits counted in the current window of (scope, key); 0 when no window is open."""
    return int(cache.get(_cache_key(scope, key)) or 0)


def ratelimit_check(*, scope: str, key: str, limit: int, window_seconds: int) -> bool:
    """True when one more hit would be allowed; counts nothing."""
    del window_seconds  # same signature as ratelimit_hit; the window is set by hits
    return ratelimit_count(scope=scope, key=key) < limit


def ratelimit_hit(*, scope: str, key: str, limit: int, window_seconds: int) -> bool:
    """Count one hit; True while the window holds at most ``limit`` hits (this one included)."""
    cache_key = _cache_key(scope, key)
    cache.add(cache_key, 0, timeout=window_seconds)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # the window expired between add and incr: this hit opens a new one
        cache.add(cache_key, 1, timeout=window_seconds)
        count = 1
    return count <= limit


def ratelimit_reset(*, scope: str, key: str) -> None:
    cache.delete(_cache_key(scope, key))
