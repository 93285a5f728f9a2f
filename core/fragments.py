"""Rendered page fragments (a product card, an order row) kept in this process's memory,
keyed by everything they show.

A fragment's key is built by its caller from the values its template reads (a product's
fields, its picture and its stock state; an order's fields, lines, masked keys and the
state of its key email) plus the active language, the script prefix and the URLconf,
which :func:`fragment_key` always adds. Nothing is ever invalidated: a change to any
shown value is a new key, so a page can never show an old price, an old stock state or
another language's text; the key's values are read by the request that uses them (the
queries the page runs anyway), never from another cache. What is kept is text only:
per-request parts (a CSRF token) are not in it (``{% fragment %}`` leaves them as
``{% live %}`` holes, web.templatetags.site_chrome).

The store is bounded (least recently used first out, :data:`FRAGMENT_STORE_MAX`
entries): keys of changed rows simply age out. A changed setting empties it (web.apps).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from django.urls import get_script_prefix, get_urlconf
from django.utils.translation import get_language

# About 1-3 KB of text each: at most a few tens of MB per process.
FRAGMENT_STORE_MAX = 8192

_store: OrderedDict[Hashable, object] = OrderedDict()
_lock = threading.Lock()


def fragment_key(name: str, *values: Hashable) -> tuple[Hashable, ...]:
    """The key of fragment ``name`` showing ``values``, in the active language, script
    prefix and URLconf (its links and its words)."""
    return (name, get_language(), get_script_prefix(), get_urlconf(), *values)


def fragment_get(key: Hashable) -> object | None:
    """The fragment stored under ``key`` (and marks it recently used), or ``None``."""
    with _lock:
        value = _store.get(key)
        if value is not None:
            _store.move_to_end(key)
        return value


def fragment_set(key: Hashable, value: object) -> None:
    with _lock:
        _store[key] = value
        _store.move_to_end(key)
        while len(_store) > FRAGMENT_STORE_MAX:
            _store.popitem(last=False)


def fragments_clear() -> None:
    """Forget every fragment of this process."""
    with _lock:
        _store.clear()
