"""HTTP helpers for any view that shows a key code."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.cache import add_never_cache_headers


def no_store(response: HttpResponse) -> HttpResponse:
    """Forbid every cache (browser, proxy, back button) from keeping a page with a code."""
    add_never_cache_headers(response)  # max-age=0, no-cache, no-store, must-revalidate, private
    response["Pragma"] = "no-cache"
    response["Expires"] = "0"
    return response
