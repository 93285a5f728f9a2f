"""What order services raise; every message can be shown to staff or customers."""

from __future__ import annotations

from core.statemachine import TransitionNotAllowed


class OrderError(Exception):
    """An order operation that cannot be done; the message can be shown to staff."""


class OrderTransitionError(OrderError, TransitionNotAllowed):
    """The order's state machine has no such move (a :class:`TransitionNotAllowed`)."""


class CheckoutError(OrderError):
    pass


class RateLimited(OrderError):
    pass


class CancellationRefused(OrderError):
    def __init__(self, message: str, clause: str = "", clause_url: str = "") -> None:
        super().__init__(message)
        self.clause = clause
        self.clause_url = clause_url
