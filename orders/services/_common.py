"""Helpers several order service modules share (private to ``orders.services``)."""

from __future__ import annotations

from typing import Any

from django.db import transaction


def _require_no_transaction(what: str) -> None:
    """The gateway is never called inside a transaction (a test case's own wrapper aside)."""
    blocks = transaction.get_connection().atomic_blocks
    if any(not getattr(block, "_from_testcase", False) for block in blocks):
        raise RuntimeError(f"{what} calls the payment gateway: not inside a transaction")


def _on_commit_task(task_name: str, *args: Any) -> None:
    """Enqueue an orders task after the current transaction commits."""
    from .. import tasks

    getattr(tasks, task_name).delay_on_commit(*args)


def _preset_active():
    from policies.selectors import preset_active_get

    return preset_active_get()


def _staff_alert(*, kind: str, subject: str, body: str, dedupe_key: str | None = None) -> None:
    """Alert staff through the outbox (inside the caller's transaction; one digest per
    burst of alerts of a kind)."""
    from core.outbox import staff_alert_enqueue

    staff_alert_enqueue(kind=kind, subject=subject, body=body, dedupe_key=dedupe_key)
