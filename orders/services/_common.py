"""Helpers several order service modules share (private to ``orders.services``)."""

from __future__ import annotations

from core.outbox import staff_alert_enqueue


def _staff_alert(*, kind: str, subject: str, body: str, dedupe_key: str | None = None) -> None:
    """Alert staff through the outbox (inside the caller's transaction; one digest per
    burst of alerts of a kind)."""
    staff_alert_enqueue(kind=kind, subject=subject, body=body, dedupe_key=dedupe_key)
