"""Process-local copies of slowly-changing reads: a change is seen by the next unit of
work, and one unit of work (a task handling one order) reads the version tokens once."""

from unittest import mock

import pytest
from django.core.cache import cache

from core.cache import RedisCache
from core.versioned_cache import versioned_cache_bump, versioned_cache_get, versioned_cache_scope

pytestmark = pytest.mark.django_db


def _loader(values):
    def load():
        values.append(len(values) + 1)
        return values[-1]

    return load


def test_a_scope_reads_the_tokens_once_and_sees_a_change_made_before_it():
    loads: list[int] = []
    assert versioned_cache_get(name="t.scope", loader=_loader(loads)) == 1
    # the held copy's token comes with the scope's get_many
    with versioned_cache_scope(), mock.patch.object(cache, "get", wraps=cache.get) as gets:
        for _ in range(5):
            assert versioned_cache_get(name="t.scope", loader=_loader(loads)) == 1
    assert gets.call_count == 0
    cache.set("vcache:t.scope", "changed by another process", timeout=None)
    with versioned_cache_scope():
        assert versioned_cache_get(name="t.scope", loader=_loader(loads)) == 2


def test_a_change_made_inside_a_scope_is_read_at_once():
    loads: list[int] = []
    with versioned_cache_scope():
        assert versioned_cache_get(name="t.bump", loader=_loader(loads)) == 1
        versioned_cache_bump(name="t.bump")
        assert versioned_cache_get(name="t.bump", loader=_loader(loads)) == 2


def test_the_redis_cache_builds_one_client_per_server():
    backend = RedisCache("redis://127.0.0.1:6379/0", {})
    client = backend._cache.get_client()
    assert backend._cache.get_client(write=True) is client  # no connection is opened here
    assert client.connection_pool is backend._cache._get_connection_pool(False)
