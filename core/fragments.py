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

The store is bounded by the text it holds (least recently used first out past
:data:`FRAGMENT_STORE_MAX_CHARS` characters): keys of changed rows simply age out. A
changed setting empties it (web.apps).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from django.urls import get_script_prefix, get_urlconf
from django.utils.translation import get_language

# A product card is about 1,000 characters, an order entry 2,000, a product page 6,000:
# at most about 16 MB of text per process (str of ASCII: one byte a character).
FRAGMENT_STORE_MAX_CHARS = 16_000_000

_store: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
_held = 0  # characters in _store
_lock = threading.Lock()


def fragment_key(name: str, *values: Hashable) -> tuple[Hashable, ...]:
    """The key of fragment ``name`` showing ``values``, in the active language, script
    prefix and URLconf (its links and its words)."""
    return (name, get_language(), get_script_prefix(), get_urlconf(), *values)


def fragment_get(key: Hashable) -> object | None:
    """The fragment stored under ``key`` (and marks it recently used), or ``None``."""
    with _lock:
        held = _store.get(key)
        if held is None:
            return None
        _store.move_to_end(key)
        return held[0]


def fragment_set(key: Hashable, value: object, *, size: int) -> None:
    """Keep ``value`` (``size`` characters of text) under ``key``."""
    global _held
    with _lock:
        old = _store.pop(key, None)
        if old is not None:
            _held -= old[1]
        _store[key] = (value, size)
        _held += size
        while _held > FRAGMENT_STORE_MAX_CHARS and len(_store) > 1:
            _old_key, (_value, old_size) = _store.popitem(last=False)
            _held -= old_size


def fragments_clear() -> None:
    """Forget every fragment of this process."""
    global _held
    with _lock:
        _store.clear()
        _held = 0
