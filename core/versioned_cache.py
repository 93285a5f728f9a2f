"""Process-local copies of slowly-changing reads, kept coherent by a shared version key.

The paid-order path reads the same few rows for every order (fraud settings, the
blocklist, the active policy preset, the outgoing webhook endpoints). Each read named here
keeps its value in this process's memory, tagged with a version token stored in the
shared cache (Redis in production, so every web and worker process sees the same token).
A read costs one cache GET while the token is unchanged; a change bumps the token
(:func:`versioned_cache_bump`) right away and again when the transaction commits, so every
process reloads on its next read. The second bump covers a process that reloaded between
the first bump and the commit (it would otherwise keep the old rows under the new token).

The token is random, never a counter: after the shared cache is flushed (or a key
evicted) a new token is drawn and no process can mistake its old copy for current.

Invalidation is explicit: the owning app bumps in its services and on its models'
``post_save`` / ``post_delete`` (connected in its ``AppConfig.ready``), so admin edits,
bulk deletes and fixtures all count.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import transaction

T = TypeVar("T")

_PREFIX = "vcache:"
_local: dict[str, tuple[str, Any]] = {}
_lock = threading.Lock()
# Inside versioned_cache_scope(): the tokens read at its start (or at first use), by name.
_scope_tokens: ContextVar[dict[str, str] | None] = ContextVar("versioned_cache_scope", default=None)


def _token_get(name: str) -> str:
    tokens = _scope_tokens.get()
    if tokens is not None and name in tokens:
        return tokens[name]
    key = _PREFIX + name
    token = cache.get(key)
    if token is None:
        fresh = uuid.uuid4().hex
        cache.add(key, fresh, timeout=None)
        token = cache.get(key) or fresh
    if tokens is not None:
        tokens[name] = token
    return token


@contextmanager
def versioned_cache_scope() -> Iterator[None]:
    """One unit of work (a task handling one order) reads every token once: the tokens
    of the copies this process holds in one round trip (``get_many``) at the start, any
    other at its first read. A change committed before the block starts is seen in it,
    one committed meanwhile by the next block (the next order); a change made in it, by
    this process, at once (the bump drops the token read)."""
    names = list(_local)
    found = cache.get_many([_PREFIX + name for name in names]) if names else {}
    tokens = {name: found[_PREFIX + name] for name in names if _PREFIX + name in found}
    reset = _scope_tokens.set(tokens)
    try:
        yield
    finally:
        _scope_tokens.reset(reset)


def versioned_cache_get(*, name: str, loader: Callable[[], T]) -> T:
    """The value ``loader()`` returned under the current token of ``name``, loading it
    once per process and token."""
    token = _token_get(name)
    held = _local.get(name)
    if held is not None and held[0] == token:
        return held[1]
    value = loader()
    with _lock:
        _local[name] = (token, value)
    return value


def versioned_cache_bump(*, name: str) -> None:
    """``name`` changed: every process reloads on its next read (now, and after commit)."""

    def bump() -> None:
        cache.set(_PREFIX + name, uuid.uuid4().hex, timeout=None)
        _local.pop(name, None)
        tokens = _scope_tokens.get()
        if tokens is not None:
            tokens.pop(name, None)

    bump()
    transaction.on_commit(bump, robust=True)


def versioned_cache_bumper(name: str) -> Callable[..., None]:
    """A ``post_save`` / ``post_delete`` receiver that bumps ``name``."""

    def receiver(**kwargs: Any) -> None:
        versioned_cache_bump(name=name)

    receiver.__name__ = f"versioned_cache_bump_{name}"
    return receiver
