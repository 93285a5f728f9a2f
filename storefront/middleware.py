"""Show every date and time on the store's own clock (the active preset's time zone)."""

from __future__ import annotations

from collections.abc import Callable

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

SHOP_TIME_ZONE_CACHE_KEY = "storefront:shop-time-zone"


def shop_time_zone_cached() -> str:
    from storefront.emails import shop_time_zone

    return cache.get_or_set(SHOP_TIME_ZONE_CACHE_KEY, shop_time_zone, timeout=60)


def store_clock_exempt(view: Callable) -> Callable:
    """Mark a view that must not look the store's time zone up (e.g. the liveness probe)."""
    view.store_clock_exempt = True
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


class LanguageFromQueryMiddleware:
    """``?lang=fr`` shows the page in French: each language has its own address, for
    search engines (hreflang) and shared links. Runs after Django's LocaleMiddleware and
    remembers the choice in the language cookie, as the language form does."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.conf import settings
        from django.utils import translation

        from storefront.seo import LANG_PARAM, language_codes, language_cookie_set

        language = request.GET.get(LANG_PARAM, "")
        if language not in language_codes():
            return self.get_response(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != language:
            language_cookie_set(response=response, language=language)
        return response
