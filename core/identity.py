"""The shop's identity (core.ShopIdentity): the cached read and the one write.

Pages, emails, policy texts and (later) invoices read :func:`shop_identity_get`; the
owner changes it in the admin or with ``manage.py setup_shop``, both through
:func:`shop_identity_update`, which drops the cached copy once the change is committed
and lets apps above ``core`` react (``policies`` republishes the texts that quote the
support contact) through handlers they register in their ``AppConfig.ready()``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from .models import SHOP_IDENTITY_PK, ShopIdentity

SHOP_IDENTITY_CACHE_KEY = "core:shop-identity:v1"
SHOP_IDENTITY_CACHE_SECONDS = 3600
# What production refuses to run without (keystore.E050).
SHOP_IDENTITY_REQUIRED = ("name", "legal_name", "support_email")

_changed_handlers: list[Callable[..., None]] = []


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
    missing: tuple[str, ...]

    @property
    def address_lines(self) -> list[str]:
        town = " ".join(part for part in (self.postcode, self.city) if part)
        lines = [self.address_line1, self.address_line2, town, self.country]
        return [line for line in lines if line]


EDITABLE_FIELDS = tuple(f.name for f in fields(Identity) if f.name != "missing")


def shop_identity_missing_fields(*, record: ShopIdentity | None) -> tuple[str, ...]:
    """The required fields ``record`` leaves blank (all of them when there is no row)."""
    return tuple(name for name in SHOP_IDENTITY_REQUIRED if not getattr(record, name, "").strip())


def _identity_build(record: ShopIdentity | None) -> Identity:
    values = {name: getattr(record, name, "") for name in EDITABLE_FIELDS}
    values["name"] = values["name"] or settings.SHOP_NAME
    values["support_email"] = values["support_email"] or settings.SHOP_SUPPORT_EMAIL
    values["support_phone"] = values["support_phone"] or settings.SHOP_SUPPORT_PHONE
    values["invoice_prefix"] = values["invoice_prefix"] or "INV-"
    values["tax_regime"] = values["tax_regime"] or "none"
    return Identity(**values, missing=shop_identity_missing_fields(record=record))


def shop_identity_record_get() -> ShopIdentity | None:
    """The stored row, uncached (the admin and the deploy check read this)."""
    return ShopIdentity.objects.filter(pk=SHOP_IDENTITY_PK).first()


def shop_identity_get(*, use_cache: bool = True) -> Identity:
    """The shop's identity, from a shared cache dropped on every change (``use_cache=False``
    reads the row, e.g. inside a transaction that may just have changed it)."""
    if not use_cache:
        return _identity_build(shop_identity_record_get())
    cached = cache.get(SHOP_IDENTITY_CACHE_KEY)
    if cached is not None:
        try:
            return Identity(**cached)
        except TypeError:  # written by an older release: read it again
            pass
    identity = _identity_build(shop_identity_record_get())
    cache.set(SHOP_IDENTITY_CACHE_KEY, asdict(identity), SHOP_IDENTITY_CACHE_SECONDS)
    return identity


def shop_identity_changed_handler_register(handler: Callable[..., None]) -> None:
    """Call ``handler(identity=<the new Identity>)`` inside the transaction of every
    identity change (registering twice is a no-op)."""
    if handler not in _changed_handlers:
        _changed_handlers.append(handler)


@transaction.atomic
def shop_identity_update(**changes: Any) -> ShopIdentity:
    """Set the given fields of the single identity row (created on first use).

    Values are validated like the admin form does; a ``ValidationError`` leaves the
    stored identity as it was.
    """
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"unknown shop identity fields: {', '.join(sorted(unknown))}")
    record, _created = ShopIdentity.objects.select_for_update().get_or_create(pk=SHOP_IDENTITY_PK)
    for name, value in changes.items():
        setattr(record, name, (value or "").strip())
    if record.country:
        record.country = record.country.upper()
    record.tax_regime = record.tax_regime or "none"  # a blank answer keeps taxes off
    record.full_clean()
    record.save()
    transaction.on_commit(lambda: cache.delete(SHOP_IDENTITY_CACHE_KEY))
    identity = _identity_build(record)
    for handler in _changed_handlers:
        handler(identity=identity)
    return record
