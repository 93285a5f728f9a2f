"""Deploy check: the shop's tax regime must be applicable (keystore.E060)."""

from __future__ import annotations

from django.core.checks import Error, register
from django.db import DatabaseError

from core.identity import shop_identity_record_get

from .services import shop_tax_settings_problem


@register("keystore", deploy=True)
def tax_regime_check(app_configs=None, **kwargs) -> list[Error]:
    try:
        record = shop_identity_record_get()
    except DatabaseError:
        return []  # keystore.E050 reports an unreadable identity
    if record is None:
        return []
    problem = shop_tax_settings_problem(regime=record.tax_regime, country=record.country)
    if not problem:
        return []
    return [
        Error(
            f"The tax regime cannot apply: {problem}. Prices would be sold without VAT.",
            hint="Edit Shop identity > Taxes (regime and country) in the admin.",
            id="keystore.E060",
        )
    ]
