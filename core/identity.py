"""The shop's identity (core.ShopIdentity): the cached read and the one write.

Pages, emails, policy texts and (later) invoices read :func:`shop_identity_get`; the
owner changes it in the admin or with ``manage.py setup_shop``, both through
:func:`shop_identity_update`, which drops the cached copy once the change is committed
and lets apps above ``core`` react (``policies`` republishes the texts that quote the
support contact) through handlers they register in their ``AppConfig.ready()``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import asdict, dataclass, fields
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import HttpRequest, HttpResponse

from .brand import CleanLogo
from .models import SHOP_IDENTITY_PK, ShopIdentity
from .prepared import PreparedQuery

SHOP_IDENTITY_CACHE_KEY = "core:shop-identity:v1"
SHOP_IDENTITY_CACHE_SECONDS = 3600
# What production refuses to run without (keystore.E050).
SHOP_IDENTITY_REQUIRED = ("name", "legal_name", "support_email")

_changed_handlers: list[Callable[..., object]] = []  # what a handler returns is unused


@dataclass(frozen=True)
class Identity:
    """What customers see. Blank name/support email fall back to the settings' defaults
    (a development shop); ``missing`` lists the required fields the owner has not set."""

    name: str
    legal_name: str
    address_line1: str
    address_line2: str
    postcode: str
    city: str
    country: str
    support_email: str
    support_phone: str
    support_hours: str
    vat_number: str
    company_number: str
    invoice_prefix: str
    tax_regime: str
    brand_color: str
    accent_color: str
    logo: str  # storage name of the cleaned logo ("" = the Keystore mark)
    missing: tuple[str, ...]

    @property
    def address_lines(self) -> list[str]:
        town = " ".join(part for part in (self.postcode, self.city) if part)
        lines = [self.address_line1, self.address_line2, town, self.country]
        return [line for line in lines if line]

    @property
    def brand_version(self) -> str:
        """Changes whenever the colours or the logo change (cache-busting for /brand.css)."""
        raw = f"{self.brand_color}|{self.accent_color}|{self.logo}"
        return hashlib.sha256(raw.encode()).hexdigest()[:12]


# Text fields set by shop_identity_update(name=...) and `manage.py setup_shop`; the logo
# is a file, set with shop_identity_update(logo=CleanLogo | "").
EDITABLE_FIELDS = tuple(f.name for f in fields(Identity) if f.name not in ("missing", "logo"))


def shop_identity_missing_fields(*, record: ShopIdentity | None) -> tuple[str, ...]:
    """The required fields ``record`` leaves blank (all of them when there is no row)."""
    return tuple(name for name in SHOP_IDENTITY_REQUIRED if not getattr(record, name, "").strip())


def _identity_build(record: ShopIdentity | None) -> Identity:
    values = {name: getattr(record, name, "") for name in EDITABLE_FIELDS}
    values["logo"] = record.logo.name if record is not None and record.logo else ""
    values["name"] = values["name"] or settings.SHOP_NAME
    values["support_email"] = values["support_email"] or settings.SHOP_SUPPORT_EMAIL
    values["support_phone"] = values["support_phone"] or settings.SHOP_SUPPORT_PHONE
    values["invoice_prefix"] = values["invoice_prefix"] or "INV-"
    values["tax_regime"] = values["tax_regime"] or "none"
    return Identity(**values, missing=shop_identity_missing_fields(record=record))


def shop_identity_record_get() -> ShopIdentity | None:
    """The stored row, uncached (the admin and the deploy check read this)."""
    found = _IDENTITY_ROW.fetch(pk=SHOP_IDENTITY_PK)
    return found[0] if found else None


# Read inside every invoice's issue (uncached there: the snapshot is a legal record), so
# its statement is built by the ORM once per process (core.prepared).
_IDENTITY_ROW: PreparedQuery[ShopIdentity] = PreparedQuery(
    name="core.shop_identity_row",
    build=lambda *, pk: ShopIdentity.objects.filter(pk=pk).order_by(),
    params={"pk": ShopIdentity._meta.get_field("id")},
)


# Inside a request (ShopIdentityPerRequestMiddleware): the identity read for it, so that
# its several readers (the context processor, the page's SEO, the tax label of its
# prices) cost one cache read; empty until the first read and after a change.
_per_request: ContextVar[list[Identity] | None] = ContextVar("shop_identity", default=None)


class ShopIdentityPerRequestMiddleware:
    """Each request reads the shared identity at most once (a change is seen by the next
    request, as a change made during a request was before)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _per_request.set([])
        try:
            return self.get_response(request)
        finally:
            _per_request.reset(token)


def shop_identity_get(*, use_cache: bool = True) -> Identity:
    """The shop's identity, from a shared cache dropped on every change (``use_cache=False``
    reads the row, e.g. inside a transaction that may just have changed it); in a request,
    read once for it."""
    if not use_cache:
        return _identity_build(shop_identity_record_get())
    held = _per_request.get()
    if held:
        return held[0]
    identity = _shop_identity_shared_get()
    if held is not None:
        held.append(identity)
    return identity


def _shop_identity_shared_get() -> Identity:
    cached = cache.get(SHOP_IDENTITY_CACHE_KEY)
    if cached is not None:
        try:
            return Identity(**cached)
        except TypeError:  # written by an older release: read it again
            pass
    identity = _identity_build(shop_identity_record_get())
    cache.set(SHOP_IDENTITY_CACHE_KEY, asdict(identity), SHOP_IDENTITY_CACHE_SECONDS)
    return identity


def shop_identity_changed_handler_register(handler: Callable[..., object]) -> None:
    """Call ``handler(identity=<the new Identity>)`` inside the transaction of every
    identity change (registering twice is a no-op)."""
    if handler not in _changed_handlers:
        _changed_handlers.append(handler)


def shop_identity_update(**changes: Any) -> ShopIdentity:
    """Set the given fields of the single identity row (created on first use).

    Values are validated like the admin form does; a ``ValidationError`` leaves the
    stored identity as it was. ``logo`` is a :class:`core.brand.CleanLogo` (stored first,
    outside the transaction, under a name made of its hash) or ``""`` (back to the mark).
    """
    logo = changes.pop("logo", None)
    if isinstance(logo, CleanLogo) and not default_storage.exists(logo.name):
        default_storage.save(logo.name, ContentFile(logo.data))
    return _shop_identity_write(logo=logo, changes=changes)


@transaction.atomic
def _shop_identity_write(*, logo: CleanLogo | str | None, changes: dict[str, Any]) -> ShopIdentity:
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"unknown shop identity fields: {', '.join(sorted(unknown))}")
    record, _created = ShopIdentity.objects.select_for_update().get_or_create(pk=SHOP_IDENTITY_PK)
    for name, value in changes.items():
        setattr(record, name, (value or "").strip())
    if record.country:
        record.country = record.country.upper()
    record.tax_regime = record.tax_regime or "none"  # a blank answer keeps taxes off
    for name in ("brand_color", "accent_color"):
        setattr(record, name, getattr(record, name).lower())
    if isinstance(logo, CleanLogo):
        record.logo.name = logo.name
    elif logo == "":
        record.logo.name = ""
    record.full_clean()
    record.save()
    transaction.on_commit(lambda: cache.delete(SHOP_IDENTITY_CACHE_KEY))
    held = _per_request.get()
    if held:  # the rest of this request reads the changed row's cached copy again
        held.clear()
    identity = _identity_build(record)
    for handler in _changed_handlers:
        handler(identity=identity)
    return record
