"""When the low-stock check runs: once per product per short window, after commit.

Services call :func:`stock_check_on_commit` whenever a product's sellable stock changes.
The Celery task that runs the check lives in ``keys.tasks`` (a layer above the services:
it calls :func:`keys.services.stock.stock_alert_check`), so it is handed to this module by
``KeysConfig.ready()`` through :func:`stock_check_task_register` instead of being imported
here, which would make services and tasks import each other.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.db import transaction

if TYPE_CHECKING:
    from celery import Task

STOCK_CHECK_WINDOW_SECONDS = 5

_check_task: Task | None = None


def stock_check_task_register(*, task: Task) -> None:
    """Called once from ``KeysConfig.ready()`` with ``keys.tasks.keys_stock_check_task``."""
    global _check_task  # noqa: PLW0603 - the one registration slot, filled at startup
    _check_task = task


def _stock_check_schedule(product_id: int) -> None:
    """At most one low-stock check per product per window, run after the window closes.

    A busy product sells many keys a second; checking after each sale is wasted work. The
    first sale of a window schedules one check for just after the window, so it sees every
    sale made in it and no crossing is missed. In-process mode (no broker) checks at once.
    """
    task = _check_task
    if task is None:
        raise RuntimeError("keys: the stock check task was not registered (KeysConfig.ready)")
    if task.app.conf.task_always_eager:
        task.delay(product_id)
        return
    if cache.add(f"keys:stock-check:{product_id}", 1, timeout=STOCK_CHECK_WINDOW_SECONDS):
        task.apply_async(args=(product_id,), countdown=STOCK_CHECK_WINDOW_SECONDS + 1)


def stock_check_on_commit(*, product_ids) -> None:
    """Schedule the low-stock check after commit. Robust: a broker or SMTP hiccup must never
    turn a committed sale into an error (the next stock change checks again)."""
    for product_id in sorted(set(product_ids)):
        transaction.on_commit(partial(_stock_check_schedule, product_id), robust=True)
