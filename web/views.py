"""The storefront's pages: the catalog (with key stock), the product page (with the
active policy's promise), contact, robots.txt, media files outside production, the root
icons, the language switch and the liveness probe."""

import hashlib
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.views.static import serve

from catalog.activation import product_activation_steps
from catalog.forms import CatalogFilterForm
from catalog.images import product_pictures
from catalog.models import Product
from catalog.selectors import (
    CatalogSort,
    catalog_facets_cached,
    product_get_active_cached,
    requirements_rows,
    search_terms,
    stock_status_for,
)
from core.shop_clock import store_clock_exempt
from pricing.services import catalogue_price_tax_label

from .cards import catalog_filters_key, product_cards_render, product_page_key
from .forms import CartAddForm
from .selectors import (
    contact_info_get,
    product_available_counts,
    product_list_for_catalog,
    product_list_with_stock,
    purchase_promise_get,
)
from .seo import (
    language_cookie_set,
    product_seo_context,
    robots_txt_render,
    url_without_language,
)

CATALOG_PAGE_SIZE = 24
CATALOG_PARAMS = ("q", "category", "platform", "region", "in_stock", "sort", "page")


@store_clock_exempt
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness probe for load balancers and docker: answers without touching the database.

    It is also the "bare Django view" that bench/catalog.py compares the catalog against.
    """
    return HttpResponse("ok", content_type="text/plain")


def language_switch(request: HttpRequest) -> HttpResponse:
    """Change the page language from a plain GET form: the header then carries no CSRF
    token, so pages stay cacheable (choosing a language changes nothing else)."""
    language = request.GET.get("language", "")
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("catalog:catalog")
    response = redirect(url_without_language(url=next_url))
    if language in dict(settings.LANGUAGES):
        language_cookie_set(response=response, language=language)
    return response


def _sees_the_public_page(request: HttpRequest) -> bool:
    """A visitor with no session and no pending message sees what everyone sees."""
    return request.session.session_key is None and "messages" not in request.COOKIES


def _catalog_url(params: list[tuple[str, str]]) -> str:
    """The catalog's address with only the known, non-empty parameters."""
    query = urlencode([(name, value) for name, value in params if value])
    return reverse("catalog:catalog") + (f"?{query}" if query else "")


def _catalog_seo(*, form: CatalogFilterForm, params: list[tuple[str, str]]) -> dict:
    """A category's page is the catalog filtered on it: its own title and description;
    search results are not for search engines."""
    context: dict = {
        "seo_query": [
            (name, value)
            for name, value in params
            if value and name != "q" and (name, value) != ("page", "1")
        ],
        "seo_noindex": bool(dict(params).get("q")),
    }
    category = form.category_record()
    if category is not None:
        context["seo_title"] = category.name
        context["seo_description"] = category.description or category.name
    return context


def catalog(request: HttpRequest) -> HttpResponse:
    # The catalog is the same for every visitor with the same filters and language, so it
    # is rendered once and kept for a few seconds: the product grid for everyone, the
    # whole page for visitors without a session (stock labels may lag that long;
    # allocation at payment is what decides). Only known parameters make the cache key.
    seconds = settings.CATALOG_GRID_CACHE_SECONDS
    params = [(name, request.GET.get(name, "")) for name in CATALOG_PARAMS]
    cache_id = hashlib.sha256(repr((get_language(), params)).encode()).hexdigest()
    htmx = bool(request.headers.get("HX-Request"))
    whole_page = bool(seconds) and not htmx and _sees_the_public_page(request)
    if whole_page:
        page_html = cache.get(f"catalog-page:{cache_id}")
        if page_html is not None:
            return HttpResponse(page_html)

    facets = catalog_facets_cached()
    form = CatalogFilterForm(request.GET or None, facets=facets)
    form.is_valid()  # errors are shown beside their fields; the valid filters still apply
    grid = cache.get(f"catalog-grid:{cache_id}") if seconds else None
    if grid is None:
        page = Paginator(product_list_for_catalog(**form.filters()), CATALOG_PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        grid = render_to_string(
            "storefront/_product_grid.html",
            {
                "page": page,
                "page_query": urlencode([(k, v) for k, v in params if k != "page" and v]),
                "cards": product_cards_render(
                    items=product_list_with_stock(products=list(page.object_list))
                ),
            },
            request=request,
        )
        if seconds:
            cache.set(f"catalog-grid:{cache_id}", grid, seconds)
    if htmx:
        return HttpResponse(grid)
    searching = bool(search_terms(query=request.GET.get("q", "")))
    context = {
        **_catalog_seo(form=form, params=params),
        "form": form,
        "grid": grid,
        "facets": facets,
        "sorts": CatalogSort.choices,
        "searching": searching,
        "filters_key": catalog_filters_key(form=form, facets=facets, searching=searching),
        # The page may be kept for everyone: nothing on it may come from the request
        # beyond the parameters that make the cache key (the language form's return URL).
        "language_next": _catalog_url(params),
    }
    response = render(request, "storefront/catalog.html", context)
    if whole_page:
        cache.set(f"catalog-page:{cache_id}", response.content.decode(), seconds)
    return response


def product_detail(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        product = product_get_active_cached(slug=slug)
    except Product.DoesNotExist:
        raise Http404
    available = product_available_counts(product_ids=[product.pk]).get(product.pk, 0)
    pictures = product_pictures(product=product)
    stock = stock_status_for(product=product, available=available)
    promise = purchase_promise_get()
    tax_label = catalogue_price_tax_label()
    quantity_max = max(1, min(product.max_per_order, available))
    context = {
        **product_seo_context(product=product, available=available, pictures=pictures),
        "product": product,
        "pictures": pictures,
        "stock": stock,
        "form": CartAddForm(initial={"quantity": 1}),
        "promise": promise,
        "tax_label": tax_label,
        # Read by the template only when the page's text is not kept yet.
        "activation_steps": lambda: product_activation_steps(product=product),
        "quantity_max": quantity_max,
        "requirements": lambda: requirements_rows(text=product.system_requirements),
        "page_key": product_page_key(
            product=product,
            pictures=pictures,
            stock=stock,
            quantity_max=quantity_max,
            promise=promise,
            tax_label=tax_label,
        ),
    }
    return render(request, "storefront/product_detail.html", context)


def contact(request: HttpRequest) -> HttpResponse:
    return render(request, "storefront/contact.html", {"contact": contact_info_get()})


def robots_txt(request: HttpRequest) -> HttpResponse:
    return HttpResponse(robots_txt_render(), content_type="text/plain; charset=utf-8")


@store_clock_exempt
def media_file(request: HttpRequest, path: str) -> HttpResponseBase:
    """A public media file (product images) outside production, where nginx serves them."""
    response = serve(request, path, document_root=str(settings.MEDIA_ROOT))
    response["Cache-Control"] = "public, max-age=86400"
    return response


# The icons browsers and phones ask for at the root of the site (static/icons,
# drawn by scripts/make_icons.py).
ROOT_ICONS = {"favicon.ico": "image/x-icon", "apple-touch-icon.png": "image/png"}


@store_clock_exempt
def root_icon(request: HttpRequest, name: str) -> HttpResponseBase:
    found = finders.find(f"icons/{name}") if name in ROOT_ICONS else None
    if not found:
        raise Http404
    response = FileResponse(open(found, "rb"), content_type=ROOT_ICONS[name])  # noqa: SIM115
    response["Cache-Control"] = "public, max-age=86400"
    return response
