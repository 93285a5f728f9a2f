"""Registries through which apps above ``orders`` react to its money events.

``orders`` never imports those apps: each one appends its callables here in its
``AppConfig.ready()`` (e.g. ``invoices`` issues an invoice when an order is paid and a
credit note when a refund succeeds). The callables run after the transaction that made
the change commits (``transaction.on_commit``), once per change, with keyword arguments
only; they must be quick (enqueue a task) and idempotent, since a change can be reported
again by a retried task.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction

# hook(*, order_id: str) -- the order just became paid (its first payment confirmation).
order_paid_hooks: list[Callable[..., None]] = []
# hook(*, refund_id: int) -- the refund just reached ``succeeded`` (counted on its order).
refund_succeeded_hooks: list[Callable[..., None]] = []


def hook_register(*, registry: list[Callable[..., None]], hook: Callable[..., None]) -> None:
    """Add ``hook`` to ``registry`` once (a second ``ready()`` does not add it twice)."""
    if hook not in registry:
        registry.append(hook)


def hooks_run_on_commit(*, registry: list[Callable[..., None]], **kwargs: Any) -> None:
    """Call every hook of ``registry`` with ``kwargs`` once the current transaction commits
    (at once outside a transaction). Each runs on its own: one failing does not stop the
    others (``robust``: logged, the change itself already committed)."""
    for hook in list(registry):
        transaction.on_commit(lambda hook=hook: hook(**kwargs), robust=True)
