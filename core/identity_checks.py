"""Deploy check: production refuses to run without the shop's identity (keystore.E050).

Registered from ``CoreConfig.ready()`` with the ``deploy`` tag, so it runs under
``manage.py check --deploy`` (the web container runs that before gunicorn starts).
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register
from django.db import DatabaseError

from .identity import shop_identity_missing_fields, shop_identity_record_get

SHOP_IDENTITY_CHECK_ID = "keystore.E050"


@register("keystore", deploy=True)
def shop_identity_check(app_configs=None, **kwargs) -> list[Error]:
    if not getattr(settings, "PRODUCTION", False):
        return []
    hint = (
        "Run `python manage.py setup_shop` (or edit Shop > Shop identity in the admin) "
        "to set the shop name, the legal entity and the support email."
    )
    try:
        record = shop_identity_record_get()
    except DatabaseError as exc:
        return [
            Error(
                f"The shop identity cannot be read ({exc.__class__.__name__}): "
                "is the database migrated?",
                hint="Run `python manage.py migrate`, then `python manage.py setup_shop`.",
                id=SHOP_IDENTITY_CHECK_ID,
            )
        ]
    missing = shop_identity_missing_fields(record=record)
    if not missing:
        return []
    return [
        Error(
            f"The shop identity is incomplete: {', '.join(missing)} not set. Customers "
            "would see no seller and no support address.",
            hint=hint,
            id=SHOP_IDENTITY_CHECK_ID,
        )
    ]
