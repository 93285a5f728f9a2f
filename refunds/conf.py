"""Operational settings of the refunds app (not policy: policy numbers come from presets).

Each value can be set in Django settings; these are the defaults.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings

from .evidence import evidence_max_bytes


def refund_limit_without_manager() -> Decimal:
    """Staff without ``refunds.refund_above_limit`` may refund up to this amount."""
    return Decimal(str(getattr(settings, "REFUND_LIMIT_WITHOUT_MANAGER", "100.00")))


def claim_abuse_threshold() -> int:
    """This many claims by one customer within the window flags the account."""
    return int(getattr(settings, "CLAIM_ABUSE_THRESHOLD", 3))


def claim_abuse_window() -> timedelta:
    return timedelta(days=int(getattr(settings, "CLAIM_ABUSE_WINDOW_DAYS", 30)))


def claim_needs_info_close_after() -> timedelta:
    """A claim waiting on the customer this long is closed (with notice)."""
    return timedelta(days=int(getattr(settings, "CLAIM_NEEDS_INFO_CLOSE_DAYS", 14)))


def claim_escalate_lead() -> timedelta:
    """Staff are alerted this long before a verification deadline (and once overdue)."""
    return timedelta(hours=int(getattr(settings, "CLAIM_ESCALATE_LEAD_HOURS", 4)))


def claim_internal_response_hours() -> int:
    """Our own target, in business hours, when the policy states no verification time."""
    return int(getattr(settings, "CLAIM_INTERNAL_RESPONSE_HOURS", 24))


def evidence_max_files() -> int:
    return int(getattr(settings, "EVIDENCE_MAX_FILES", 5))


def evidence_uploads_per_ip() -> int:
    """Screenshots one client IP may send in the rate window (counted before decoding)."""
    return int(getattr(settings, "EVIDENCE_UPLOADS_PER_IP", 20))


def evidence_uploads_per_claim() -> int:
    """Screenshots one claim (or one order's claim draft) may receive in the rate window."""
    return int(getattr(settings, "EVIDENCE_UPLOADS_PER_CLAIM", 10))


def evidence_rate_window_seconds() -> int:
    return int(getattr(settings, "EVIDENCE_RATE_WINDOW_SECONDS", 600))


def evidence_quota_per_claim() -> int:
    """Screenshots stored for one claim (or one order's claim draft) in a day."""
    return int(getattr(settings, "EVIDENCE_QUOTA_PER_CLAIM", 20))


# What a claim form's text fields (and empty file fields) can take; a bigger body carries
# screenshots.
CLAIM_FORM_TEXT_BYTES = 64 * 1024


def evidence_request_max_bytes() -> int:
    """The largest claim form body read: every screenshot at its size limit, plus the text."""
    return evidence_max_files() * evidence_max_bytes() + CLAIM_FORM_TEXT_BYTES
