"""``?lang=`` addresses: one address per language (the store clock is core.shop_clock)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from .seo import LANG_PARAM, language_codes, language_cookie_set


class LanguageFromQueryMiddleware:
    """``?lang=fr`` shows the page in French: each language has its own address, for
    search engines (hreflang) and shared links. Runs after Django's LocaleMiddleware and
    remembers the choice in the language cookie, as the language form does."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = request.GET.get(LANG_PARAM, "")
        if language not in language_codes():
            return self.get_response(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != language:
            language_cookie_set(response=response, language=language)
        return response
