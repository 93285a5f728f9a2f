"""Two Celery beats against one Redis: only the holder of the lock sends the schedule."""

import os

import pytest

from tests.waiting import wait_until

pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL"), reason="needs Redis for the beat lock: set REDIS_URL"
    ),
    pytest.mark.xdist_group("redis"),  # one lock key in the suite's Redis: one xdist worker
]


@pytest.fixture
def beats(tmp_path, settings):
    import redis

    from config.beat import LOCK_KEY, LockedScheduler
    from config.celery import app

    settings.CELERY_BROKER_URL = os.environ["REDIS_URL"]
    settings.BEAT_LOCK_SECONDS = 2
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    client.delete(LOCK_KEY)
    made = [
        LockedScheduler(app=app, schedule_filename=str(tmp_path / f"beat-{n}"), lazy=True)
        for n in (1, 2)
    ]
    yield made
    client.delete(LOCK_KEY)


def test_only_one_beat_holds_the_schedule_and_the_other_takes_over_when_it_stops(beats):
    first, second = beats
    assert first.lock_held() is True
    assert second.lock_held() is False
    assert first.lock_held() is True  # renewed by its holder
    assert second.tick() > 0 and second.lock_held() is False  # the standby sends nothing
    first.close()  # the holder stops: the standby takes the schedule at its next tick
    assert second.lock_held() is True


def test_a_holder_that_died_loses_the_lock_when_it_expires(beats):
    first, second = beats
    assert first.lock_held() is True
    assert second.lock_held() is False  # alive until it expires
    # the holder was killed: it renews nothing, and its lock expires after 2 s
    wait_until(second.lock_held, timeout=10, what="the dead holder's lock to expire")
    assert first.lock_held() is False
