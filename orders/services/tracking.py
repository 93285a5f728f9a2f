"""The guest order lookup (number + billing email), rate-limited on failures per IP."""

from __future__ import annotations

from django.utils.translation import gettext as _

from core.ratelimit import ratelimit_check, ratelimit_hit

from ..conf import orders_setting
from ..models import (
    Order,
)
from ..selectors import order_get_for_tracking
from .errors import RateLimited


def order_track_lookup(*, number: str, email: str, ip: str | None) -> Order | None:
    """The order a tracking lookup (number + billing email) opens, or None.

    Only failed lookups count, and they count against the client's IP: a visitor who has
    failed ``TRACK_PER_IP`` times in the window is refused (RateLimited) until it ends.
    Nothing is counted per order, so someone guessing at an order cannot lock its owner out.
    """
    limit = {
        "scope": "track-ip-failures",
        "key": ip or "-",
        "limit": orders_setting("TRACK_PER_IP"),
        "window_seconds": orders_setting("TRACK_WINDOW_SECONDS"),
    }
    if not ratelimit_check(**limit):
        raise RateLimited(_("Too many attempts. Please wait a few minutes and try again."))
    order = order_get_for_tracking(number=number, email=email)
    if order is None:
        ratelimit_hit(**limit)
    return order
