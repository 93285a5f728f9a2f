"""The one way a date is written to a customer, in every language.

Dates are the store's: a moment is shown in the store's time zone (the active preset's
calendar), named after the time, in the customer's language: "6 March 2026 at 11:00,
Europe/Paris time", "6 mars 2026 à 11:00, heure Europe/Paris". Dates without a time
use the same day-month-year order (``DATE_FORMAT`` of ``storefront/formats``), so a
page never mixes "2026-03-06", "March 6, 2026" and "6 March 2026".
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.utils import formats
from django.utils.translation import get_language, gettext


def datetime_for_customer(*, moment: datetime, time_zone: str) -> str:
    # An email shows the same moment several times (each consent's acceptance, in its
    # HTML and text parts): written once per moment, zone and language.
    return _datetime_written(moment, time_zone, get_language())


@lru_cache(maxsize=4096)
def _datetime_written(moment: datetime, time_zone: str, language: str | None) -> str:
    local = moment.astimezone(ZoneInfo(time_zone))
    return gettext("%(date)s at %(time)s, %(tz)s time") % {
        "date": formats.date_format(local, "DATE_FORMAT"),
        "time": formats.time_format(local, "TIME_FORMAT"),
        "tz": time_zone,
    }


def dates_written_clear() -> None:
    _datetime_written.cache_clear()


def date_for_customer(*, moment: datetime, time_zone: str) -> str:
    return formats.date_format(moment.astimezone(ZoneInfo(time_zone)), "DATE_FORMAT")
