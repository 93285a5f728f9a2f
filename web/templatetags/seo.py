"""``{% seo_head %}``: meta description, robots, canonical and hreflang alternates, Open
Graph and JSON-LD for the page being rendered (see web/seo.py).

Views may put in the context: ``seo_title``, ``seo_description``, ``seo_query`` (the
parameters that make the page, e.g. its category), ``seo_noindex``, ``seo_type`` (Open
Graph) and ``structured_data`` (a JSON-LD dict).
"""

from __future__ import annotations

import json

from django import template
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from web import seo

register = template.Library()

# The same escapes as Django's json_script: the data can never close its <script> element.
_JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def json_ld(data: dict) -> str:
    text = json.dumps(data, ensure_ascii=False, sort_keys=True).translate(_JSON_SCRIPT_ESCAPES)
    return mark_safe(f'<script type="application/ld+json">{text}</script>')  # noqa: S308


@register.inclusion_tag("storefront/_seo_head.html", takes_context=True)
def seo_head(context) -> dict:
    request = context.get("request")
    path = request.path if request is not None else "/"
    shop_name = context.get("SHOP_NAME", "")
    language = seo.language_active()
    noindex = bool(context.get("seo_noindex")) or seo.path_is_private(path=path)
    query = context.get("seo_query") or []
    description = context.get("seo_description") or _(
        "%(shop)s sells software license keys and gift cards, delivered on screen and by "
        "email in seconds."
    ) % {"shop": shop_name}
    structured = context.get("structured_data")
    return {
        "noindex": noindex,
        "description": Truncator(" ".join(str(description).split())).chars(160),
        "title": context.get("seo_title") or shop_name,
        "shop_name": shop_name,
        "og_type": context.get("seo_type") or "website",
        "canonical": seo.page_url_for_language(path=path, language=language, query=query),
        "alternates": [] if noindex else seo.page_alternates(path=path, query=query),
        "og_locale": seo.og_locale(language=language),
        "og_locale_alternates": [
            seo.og_locale(language=code) for code in seo.language_codes() if code != language
        ],
        "image": context.get("seo_image") or seo.shop_logo_url(),
        "json_ld": json_ld(structured) if structured and not noindex else "",
    }
