"""Tunables of the orders app, read from Django settings with safe defaults.

Settings are optional: ``ORDERS_<NAME>`` in settings (or the environment variable of the
same name) overrides the default below.
"""

from __future__ import annotations

from core.conf import int_setting_get

DEFAULTS: dict[str, int] = {
    # A paid order or an unsent email younger than this is left to the normal path.
    "SWEEP_GRACE_SECONDS": 30,
    # Hours a backordered order waits for stock before it is refunded, when the active
    # preset has no non-delivery deadline of its own.
    "BACKORDER_REFUND_HOURS": 72,
    # Customer-facing rate limits.
    "RESEND_PER_HOUR": 3,
    # Staff re-sends of one order's key email per hour (a separate, larger allowance).
    "STAFF_RESEND_PER_HOUR": 5,
    # failed tracking lookups per client IP in the window (successful ones are not counted)
    "TRACK_PER_IP": 20,
    "TRACK_WINDOW_SECONDS": 900,
    # Email retry backoff: base * 2**attempts seconds, capped.
    "EMAIL_RETRY_BASE_SECONDS": 10,
    "EMAIL_RETRY_MAX_SECONDS": 900,
    # Seconds before a Stripe API call times out (then retried with the same idempotency key).
    "STRIPE_TIMEOUT_SECONDS": 15,
    # Webhook signature tolerance (Stripe's own default).
    "WEBHOOK_TOLERANCE_SECONDS": 300,
}


def orders_setting(name: str) -> int:
    """``settings.ORDERS_<NAME>``, else that environment variable, else the default."""
    return int_setting_get(name=name, defaults=DEFAULTS, prefix="ORDERS_")
