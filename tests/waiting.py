"""Waiting in tests: on a condition, with a deadline, never for a fixed time.

``wait_until`` polls ``predicate`` until it returns something truthy and returns that, or
fails the test (``AssertionError``) when ``timeout`` seconds have passed, naming ``what``
it waited for. A fixed ``time.sleep`` either wastes time or is too short on a slow machine;
waiting on the condition is as fast as the code and as patient as the deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T],
    *,
    timeout: float,
    what: str = "the condition",
    interval: float = 0.05,
    ignore: tuple[type[BaseException], ...] = (),
) -> T:
    """``predicate()``'s first truthy result, polled every ``interval`` seconds; errors of a
    type in ``ignore`` count as "not yet" (a server still starting, say)."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            result = predicate()
        except ignore as exc:
            last_error, result = exc, None
        if result:
            return result
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error is not None else ""
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}{detail}")
        time.sleep(interval)  # the polling interval, not a guess at how long the work takes
