"""core.ratelimit: a fixed window per (scope, key), with a check that counts nothing."""

from core.ratelimit import ratelimit_check, ratelimit_count, ratelimit_hit, ratelimit_reset

LIMIT = {"limit": 3, "window_seconds": 60}


def test_hits_are_allowed_up_to_the_limit_then_refused():
    results = [ratelimit_hit(scope="t", key="a", **LIMIT) for _ in range(5)]
    assert results == [True, True, True, False, False]


def test_check_counts_nothing():
    for _ in range(10):
        assert ratelimit_check(scope="t", key="a", **LIMIT)
    assert ratelimit_count(scope="t", key="a") == 0
    for _ in range(3):
        ratelimit_hit(scope="t", key="a", **LIMIT)
    assert not ratelimit_check(scope="t", key="a", **LIMIT)


def test_scopes_and_keys_are_counted_separately():
    for _ in range(3):
        ratelimit_hit(scope="t", key="a", **LIMIT)
    assert ratelimit_hit(scope="t", key="b", **LIMIT)
    assert ratelimit_hit(scope="other", key="a", **LIMIT)
    assert not ratelimit_hit(scope="t", key="a", **LIMIT)


def test_reset_opens_a_new_window():
    for _ in range(4):
        ratelimit_hit(scope="t", key="a", **LIMIT)
    ratelimit_reset(scope="t", key="a")
    assert ratelimit_hit(scope="t", key="a", **LIMIT)
    assert ratelimit_count(scope="t", key="a") == 1
