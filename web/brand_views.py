"""The shop's brand, served from its identity: ``/brand.css`` (the colours as design
tokens) and ``/brand/logo.<ext>`` (the uploaded logo). Both addresses carry the identity's
``brand_version`` so browsers keep them for a year and fetch again after a change."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.http import Http404, HttpRequest, HttpResponse
from django.templatetags.static import static
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from core.brand import brand_css_render
from core.identity import Identity, shop_identity_get
from core.shop_clock import store_clock_exempt

LOGO_TYPES = {"svg": "image/svg+xml", "png": "image/png"}
YEAR = 365 * 24 * 3600


def brand_css_url(*, identity: Identity) -> str:
    """The stylesheet to load after site.css, or "" when the shop keeps the default colours
    (one request fewer)."""
    if not (identity.brand_color or identity.accent_color):
        return ""
    return f"{reverse('brand_css')}?v={identity.brand_version}"


def shop_logo_url(*, identity: Identity) -> str:
    if not identity.logo:
        return static("icons/logo-mark.svg")
    extension = identity.logo.rsplit(".", 1)[-1]
    return f"/brand/logo.{extension}?v={identity.brand_version}"


def _cached(request: HttpRequest, response: HttpResponse, *, identity: Identity) -> HttpResponse:
    if request.GET.get("v") == identity.brand_version:
        patch_cache_control(response, public=True, max_age=YEAR, immutable=True)
    else:  # an old or missing version: do not pin it
        patch_cache_control(response, public=True, max_age=60)
    return response


@require_safe
@store_clock_exempt
def brand_css(request: HttpRequest) -> HttpResponse:
    identity = shop_identity_get()
    css = brand_css_render(brand_color=identity.brand_color, accent_color=identity.accent_color)
    response = HttpResponse(css, content_type="text/css; charset=utf-8")
    return _cached(request, response, identity=identity)


@require_safe
@store_clock_exempt
def brand_logo(request: HttpRequest, extension: str) -> HttpResponse:
    identity = shop_identity_get()
    if not identity.logo or not identity.logo.endswith(f".{extension}"):
        raise Http404("no such logo")
    try:
        with default_storage.open(identity.logo, "rb") as stored:
            data = stored.read()
    except FileNotFoundError:
        raise Http404("the logo file is gone") from None
    response = HttpResponse(data, content_type=LOGO_TYPES[extension])
    response["X-Content-Type-Options"] = "nosniff"
    # Opened on its own, an SVG is a document: it may run nothing and load nothing.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return _cached(request, response, identity=identity)
