"""bench/pages.py's URLs: the shop's, plus `/bench-bare/`, the floor every page is compared
with (a Django view answering "ok" through the whole middleware stack, no database), and
two views for the floors that say how close a page of the shop can come to it (the bench
also requests each of them and the bare view as the signed-in customer):

* `/bench-floor/query/`: the bare view plus one read of one product by primary key through
  the ORM, the least a page that reads the database does;
* `/bench-floor/page/`: the bare view rendering the shop's `base.html` with an empty
  content block (the site chrome, its context processors and the CSRF token), the least
  a page of the shop renders.
"""

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import path

from catalog.models import Product
from config.urls import handler404, handler500  # noqa: F401
from config.urls import urlpatterns as shop_urlpatterns

EMPTY_PAGE = engines["django"].from_string('{% extends "base.html" %}')


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


def floor_query(request: HttpRequest) -> HttpResponse:
    product = Product.objects.filter(pk=1).only("pk").first()
    return HttpResponse("ok" if product is None else "ok.", content_type="text/plain")


def floor_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(EMPTY_PAGE.render({}, request))


urlpatterns = [
    path("bench-bare/", bare),
    path("bench-floor/query/", floor_query),
    path("bench-floor/page/", floor_page),
    *shop_urlpatterns,
]
