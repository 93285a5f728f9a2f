"""What every sender that talks to the network shares: retry spacing, and the guard that
no network call is made while a database transaction (and its row locks) is open."""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction


def transaction_require_none(*, what: str) -> None:
    """Raise ``RuntimeError`` when called inside a transaction.

    A durable atomic block refuses to open inside another one (Django's test case
    wrappers aside, through its public API), so it is the check itself."""
    if not transaction.get_connection().in_atomic_block:
        return  # the usual case, known without opening a block
    try:
        with transaction.atomic(durable=True):
            pass
    except RuntimeError as exc:
        raise RuntimeError(f"{what}: not inside a transaction") from exc


def retry_backoff(*, attempts: int, base_seconds: float, max_seconds: float) -> timedelta:
    """Exponential backoff with "equal jitter" (half fixed, half random), so the retries
    of a burst spread out: base * 2**(attempts-1), capped, never under a second."""
    capped = min(base_seconds * 2 ** max(attempts - 1, 0), max_seconds)
    return timedelta(seconds=max(capped / 2 + random.uniform(0, capped / 2), 1))  # noqa: S311
