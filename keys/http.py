"""HTTP helpers for any view that shows a key code."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import HttpResponse
from django.utils.cache import add_never_cache_headers


def no_store(response: HttpResponse) -> HttpResponse:
    """Forbid every cache (browser, proxy, back button) from keeping a page with a code."""
    add_never_cache_headers(response)  # max-age=0, no-cache, no-store, must-revalidate, private
    response["Pragma"] = "no-cache"
    response["Expires"] = "0"
    return response


def no_store_view(view: Callable) -> Callable:
    """Decorator form of :func:`no_store` for views that show codes."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        return no_store(view(request, *args, **kwargs))

    return wrapped
