"""The shop's public address, from ``SITE_URL``: absolute links in emails and pages are
built on it, never on the request's Host header (``web.seo`` for pages, the account
emails of ``accounts.adapter``)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from core.identity import shop_identity_get


def site_url_get() -> str:
    """The shop's public origin (scheme://host[:port]), from ``SITE_URL``."""
    return settings.SITE_URL.rstrip("/")


def site_absolute_url(*, path: str) -> str:
    return site_url_get() + path


def site_url_rebase(*, url: str) -> str:
    """An absolute address moved onto ``SITE_URL`` (scheme and host); others unchanged."""
    parts = urlsplit(url)
    if not (parts.scheme and parts.netloc):
        return url
    site = urlsplit(site_url_get())
    return urlunsplit(parts._replace(scheme=site.scheme, netloc=site.netloc))


@dataclass(frozen=True)
class SiteFromUrl:
    """What allauth's templates read as ``current_site``, from ``SITE_URL``."""

    domain: str
    name: str


def site_url_site() -> SiteFromUrl:
    return SiteFromUrl(domain=urlsplit(site_url_get()).netloc, name=shop_identity_get().name)
