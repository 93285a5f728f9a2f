"""The store's own clock: every date and time shown on a page or in an email is in the
shop's time zone (the active policy preset's calendar, else ``settings.TIME_ZONE``).

The policies app, which knows the preset, registers the provider in its
``AppConfig.ready()``; core never imports it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

SHOP_TIME_ZONE_CACHE_KEY = "storefront:shop-time-zone"

# Filled by higher apps in AppConfig.ready(): each returns a zone name or "" (no opinion).
shop_time_zone_providers: list[Callable[[], str]] = []


def shop_time_zone() -> str:
    """The store's time zone, read now (emails and documents use it)."""
    for provider in shop_time_zone_providers:
        zone = provider()
        if zone:
            return zone
    return settings.TIME_ZONE


def shop_time_zone_cached() -> str:
    """The store's time zone from a short cache (pages: one read a minute at most)."""
    return str(cache.get_or_set(SHOP_TIME_ZONE_CACHE_KEY, shop_time_zone, timeout=60))


def shop_time_zone_cache_clear() -> None:
    """Drop the cached zone once the current transaction commits (preset changed)."""
    transaction.on_commit(lambda: cache.delete(SHOP_TIME_ZONE_CACHE_KEY))


def store_clock_exempt(view: Callable) -> Callable:
    """Mark a view that must not look the store's time zone up (e.g. the liveness probe)."""
    view.store_clock_exempt = True  # type: ignore[attr-defined]
    return view


class StoreTimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)  # responses render inside, on the store clock
        finally:
            timezone.deactivate()

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        if not getattr(view_func, "store_clock_exempt", False):
            timezone.activate(shop_time_zone_cached())
