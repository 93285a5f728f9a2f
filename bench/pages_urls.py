"""bench/pages.py's URLs: the shop's, plus `/bench-bare/`, the floor every page is compared
with (a Django view answering "ok" through the whole middleware stack, no database)."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import handler404, handler500  # noqa: F401
from config.urls import urlpatterns as shop_urlpatterns


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench-bare/", bare), *shop_urlpatterns]
