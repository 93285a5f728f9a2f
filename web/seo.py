"""What search engines and link previews read: addresses, language alternates, robots
rules and structured data.

The shop picks a page's language from the visitor's cookie (the language form) or their
browser, at the same address, so search engines could only ever see English. Every
language is therefore also addressable with ``?lang=<code>`` (``LanguageFromQueryMiddleware``):
English, the default, lives at the plain address, which is also ``x-default`` (it follows
the visitor's own choice); French and Arabic at ``?lang=fr`` and ``?lang=ar``. Each page
declares its own language version canonical and lists the others as ``hreflang``
alternates; the sitemap lists the same addresses. Every address is absolute, on
``SITE_URL`` (the address the shop is served at; ``core.site``), never the request's Host
header.
"""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from babel.core import get_global
from django.conf import settings
from django.templatetags.static import static
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core.identity import shop_identity_get
from core.money import money_quantize
from core.site import site_absolute_url, site_url_get

LANG_PARAM = "lang"
# Customer-private or technical pages: disallowed in robots.txt and marked noindex.
PRIVATE_PATH_PREFIXES = (
    "/admin/",
    "/accounts/",
    "/account/",
    "/cart/",
    "/orders/",
    "/claims/",
    "/keys/",
    "/api/",
    "/i18n/",
    "/language/",
)


def language_codes() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def language_active() -> str:
    language = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
    return language if language in language_codes() else settings.LANGUAGE_CODE


def language_cookie_set(*, response, language: str) -> None:
    """Remember ``language`` for the visitor (the language form and ``?lang=``)."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


def url_without_language(*, url: str) -> str:
    """``url`` without its ``?lang=``, so a language chosen afterwards is not undone."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != LANG_PARAM]
    return urlunsplit(parts._replace(query=urlencode(query)))


def path_is_private(*, path: str) -> bool:
    return path.startswith(PRIVATE_PATH_PREFIXES)


def page_url_for_language(
    *, path: str, language: str, query: list[tuple[str, str]] | None = None, absolute: bool = True
) -> str:
    """The address of ``path`` in ``language``: plain for the default language, else with
    ``?lang=``; ``query`` holds the parameters that make the page (e.g. its category)."""
    params = [(name, value) for name, value in (query or []) if value and name != LANG_PARAM]
    if language != settings.LANGUAGE_CODE:
        params.append((LANG_PARAM, language))
    url = path + (f"?{urlencode(params)}" if params else "")
    return site_absolute_url(path=url) if absolute else url


def page_alternates(
    *, path: str, query: list[tuple[str, str]] | None = None
) -> list[tuple[str, str]]:
    """(hreflang, absolute URL) for every language, then ``x-default``."""
    alternates = [
        (code, page_url_for_language(path=path, language=code, query=query))
        for code in language_codes()
    ]
    default = page_url_for_language(path=path, language=settings.LANGUAGE_CODE, query=query)
    return [*alternates, ("x-default", default)]


def og_locale(*, language: str) -> str:
    """Open Graph's ``ll_TT`` form of a language (fr -> fr_FR), from CLDR's likely subtags."""
    likely = get_global("likely_subtags").get(language, language)
    parts = likely.split("_")
    return f"{parts[0]}_{parts[-1]}" if len(parts) > 1 else language


def shop_logo_url() -> str:
    return site_absolute_url(path=static("icons/icon-512.png"))


def robots_txt_render() -> str:
    lines = ["User-agent: *"]
    lines += [f"Disallow: {prefix}" for prefix in PRIVATE_PATH_PREFIXES]
    lines += ["Allow: /", "", f"Sitemap: {site_absolute_url(path='/sitemap.xml')}", ""]
    return "\n".join(lines)


def picture_absolute_url(*, pictures) -> str:
    """The address search engines and link previews get for a product's picture: its
    first uploaded image (absolute on SITE_URL), else the shop's logo (a placeholder is
    an SVG drawing, which previews do not show)."""
    first = next((p for p in pictures if not p.placeholder), None)
    if first is None:
        return shop_logo_url()
    return first.src if urlsplit(first.src).scheme else site_absolute_url(path=first.src)


def product_structured_data(
    *, product, available: int, shop_name: str, image: str | None = None
) -> dict:
    """schema.org ``Product`` with its ``Offer``: what search engines show as a rich result."""
    url = page_url_for_language(path=product.get_absolute_url(), language=language_active())
    data: dict = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.name,
        "sku": product.sku,
        "url": url,
        "image": image or shop_logo_url(),
        "category": product.category.name,
        "offers": {
            "@type": "Offer",
            "url": url,
            "price": str(money_quantize(amount=Decimal(product.price), currency=product.currency)),
            "priceCurrency": product.currency.upper(),
            "availability": "https://schema.org/InStock"
            if available > 0
            else "https://schema.org/OutOfStock",
            "itemCondition": "https://schema.org/NewCondition",
            "seller": {"@type": "Organization", "name": shop_name},
        },
    }
    if product.description:
        data["description"] = product.description
    if product.edition:
        data["model"] = product.edition
    return data


def sitemap_protocol_and_domain() -> tuple[str, str]:
    parts = urlsplit(site_url_get())
    return parts.scheme or "https", parts.netloc


def product_seo_context(*, product, available: int, pictures=()) -> dict:
    """The product page's title, description, Open Graph type and JSON-LD."""
    image = picture_absolute_url(pictures=pictures)
    summary = _("%(name)s for %(platform)s, region %(region)s: delivered on screen and by email.")
    return {
        "seo_title": product.name,
        "seo_description": product.description
        or summary
        % {
            "name": product.name,
            "platform": product.get_platform_display(),
            "region": product.region,
        },
        "seo_type": "product",
        "seo_image": image,
        "structured_data": product_structured_data(
            product=product, available=available, shop_name=shop_identity_get().name, image=image
        ),
    }
