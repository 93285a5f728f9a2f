"""Registries through which apps above ``orders`` react to its events or add to its pages.

``orders`` never imports those apps: each one appends its callables here in its
``AppConfig.ready()`` (e.g. ``invoices`` issues an invoice in a paid order's delivery and a
credit note when a refund succeeds; ``refunds`` handles the gateway's dispute events and
lists an order's claims on its staff timeline).

The money hooks (``order_paid_hooks``, ``refund_succeeded_hooks``) run after the
transaction that made the change commits (``transaction.on_commit``), once per change,
with keyword arguments only; they must be quick (enqueue a task) and idempotent, since a
change can be reported again by a retried task.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import transaction

if TYPE_CHECKING:
    from .models import Order
    from .selectors import TimelineItem

# What the hooks of one registry return (None, or what the registry collects).
R = TypeVar("R")

# hook(*, order_id: str) -- the order just became paid (its first payment confirmation).
order_paid_hooks: list[Callable[..., None]] = []
# hook(*, order: Order, lines: list[OrderLine] | None, events: list[OrderEvent]) -> dict --
# called by each run of the paid order's delivery (orders.services.order_deliver: held,
# backordered or delivered), inside its transaction, with the order row (and its lines and
# keys) locked, as the run's last lock: e.g. ``invoices`` issues the invoice there, so a
# paid order needs no task of its own for it. ``lines`` are the order's lines when the run
# read them (with their products), else None. A hook may append unsaved OrderEvent rows to
# ``events`` (written with the delivery's own, in one INSERT); what it returns is handed in
# memory to the key email of the run (``prefetched`` of its outbox message: the attachment
# providers read it). It must be idempotent (a run can be repeated) and must not call the
# network. An exception rolls the delivery back (the task and the sweepers run it again).
order_delivery_hooks: list[Callable[..., dict[str, Any]]] = []
# hook(*, refund_id: int) -- the refund just reached ``succeeded`` (counted on its order).
refund_succeeded_hooks: list[Callable[..., None]] = []

# handler(*, event: dict) -> Any -- one stored Stripe ``charge.dispute.*`` event (its
# payload), called by the webhook intake outside any transaction (it may call the gateway),
# again when the event is replayed: it must be idempotent. It raises DisputeOrderUnknown
# when the event must wait for the order's payment; any other error marks the event failed.
dispute_event_handlers: list[Callable[..., Any]] = []
# source(*, order: Order) -> Iterable[TimelineItem] -- more lines for an order's staff
# timeline (orders.selectors.order_timeline_get); one query per source.
order_timeline_sources: list[Callable[..., Iterable[TimelineItem]]] = []


class DisputeOrderUnknown(LookupError):
    """A dispute names a payment with no paid order yet (events can arrive out of order):
    the event waits, linked to ``order`` when it names one, and is replayed once that
    order's payment is confirmed."""

    def __init__(self, message: str, *, order: Order | None = None) -> None:
        super().__init__(message)
        self.order = order


def hook_register(*, registry: list[Callable[..., R]], hook: Callable[..., R]) -> None:
    """Add ``hook`` to ``registry`` once (a second ``ready()`` does not add it twice)."""
    if hook not in registry:
        registry.append(hook)


def hooks_run_on_commit(*, registry: list[Callable[..., None]], **kwargs: Any) -> None:
    """Call every hook of ``registry`` with ``kwargs`` once the current transaction commits
    (at once outside a transaction). Each runs on its own: one failing does not stop the
    others (``robust``: logged, the change itself already committed)."""
    for hook in list(registry):
        # Bound per hook via the default argument; annotated because mypy cannot infer a
        # lambda with a default argument where on_commit expects a no-argument callable.
        call: Callable[..., None] = lambda hook=hook: hook(**kwargs)  # noqa: E731
        transaction.on_commit(call, robust=True)
