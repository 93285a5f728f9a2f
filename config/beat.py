"""Celery beat that only sends while it holds a lock in Redis: run one per host if you like.

Beat must stay single: two beats would each send every periodic task. Every task on the
schedule is idempotent, so a duplicate does no harm, but it doubles the sweepers' work
at scale. This scheduler lets several beats run (one per host, for availability): each
tick, a beat renews the lock if it holds it, or tries to take it (``SET NX PX``) if
nobody does; only the holder sends due tasks. A holder that dies stops renewing and
another beat takes over within ``BEAT_LOCK_SECONDS``.

Used when the broker is Redis (``CELERY_BEAT_SCHEDULER`` in settings); without Redis
(the laptop's filesystem broker) there is one beat, started by ``make run``.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid

import redis
from celery.beat import PersistentScheduler
from django.conf import settings

logger = logging.getLogger(__name__)

LOCK_KEY = "keystore:beat-lock"


def _lock_seconds() -> int:
    return int(getattr(settings, "BEAT_LOCK_SECONDS", 60))


# Renew or take the lock, atomically: only the holder's token may extend it.
_RENEW_OR_TAKE = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return 1
end
if not holder then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return 1
end
return 0
"""


class LockedScheduler(PersistentScheduler):
    """A ``PersistentScheduler`` that sends only while it holds the Redis beat lock."""

    # Always a number once built (the argument, beat_max_loop_interval or 300); the
    # stubs allow None for the constructor's argument.
    max_interval: int

    def __init__(self, *args, **kwargs):
        self._token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._redis = None
        self._holding = False
        super().__init__(*args, **kwargs)

    def _client(self):
        if self._redis is None:
            self._redis = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        return self._redis

    def lock_held(self) -> bool:
        """Renew the lock, or take it when free; False while another beat holds it."""
        ttl_ms = _lock_seconds() * 1000
        try:
            held = bool(self._client().eval(_RENEW_OR_TAKE, 1, LOCK_KEY, self._token, ttl_ms))
        except Exception:  # Redis unreachable: send nothing (the holder may still be alive)
            logger.exception("beat: the lock in Redis cannot be checked")
            held = False
        if held != self._holding:
            logger.warning("beat %s: %s the schedule lock", self._token,
                           "holds" if held else "does not hold")  # fmt: skip
            self._holding = held
        return held

    def tick(self, *args, **kwargs):
        if not self.lock_held():
            # check again well before the holder's lock could expire
            return min(self.max_interval, max(_lock_seconds() / 3, 1))
        return min(super().tick(*args, **kwargs), max(_lock_seconds() / 3, 1))

    def close(self):
        if self._holding:
            try:  # hand over at once instead of after the lock expires
                client = self._client()
                if client.get(LOCK_KEY) == self._token.encode():
                    client.delete(LOCK_KEY)
            except Exception:  # noqa: BLE001 - shutting down: the lock expires by itself
                logger.warning("beat %s: could not release the schedule lock", self._token)
        super().close()
