"""One way to change a status: allowed moves as data, a locked row, one write, a typed
event row.

Every status-bearing model (keys, orders, claims, disputes) declares a :class:`StateMachine`
beside its model and moves through :meth:`StateMachine.transition` inside the caller's
transaction, on a row the caller fetched with ``select_for_update`` (see
:func:`row_lock`). The machine checks the move, writes the status and the fields the
caller changed in one UPDATE, and records the event row the caller builds (any
:class:`core.audit.AuditEvent` subclass). The admin asks
:meth:`StateMachine.available_transitions` which buttons to show.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import models, transaction

from .prepared import row_insert, row_update

M = TypeVar("M", bound=models.Model)


class TransitionNotAllowed(ValueError):
    """The machine has no move from the row's status to the one asked for."""

    def __init__(self, message: str, *, from_status: str, to_status: str) -> None:
        super().__init__(message)
        self.from_status = from_status
        self.to_status = to_status


@dataclass(frozen=True)
class StateMachine:
    """Allowed moves of one model's status field, as data.

    ``moves`` maps every status to the statuses it may become; a status with no way out
    maps to an empty set. Declaring every status (targets included) is checked at import,
    so a typo in the table fails at once rather than on the first customer."""

    name: str
    # Any sets in (the tables are written as set literals); frozensets once built.
    moves: Mapping[str, AbstractSet[str]]
    field: str = "status"
    _order: tuple[str, ...] = dataclasses.field(init=False, repr=False, default=())

    def __post_init__(self) -> None:
        frozen = {
            str(source): frozenset(str(t) for t in targets)
            for source, targets in self.moves.items()
        }
        unknown = {t for targets in frozen.values() for t in targets} - set(frozen)
        if unknown:
            raise ValueError(f"{self.name}: moves to undeclared statuses {sorted(unknown)}")
        object.__setattr__(self, "moves", frozen)
        object.__setattr__(self, "_order", tuple(frozen))

    def statuses(self) -> tuple[str, ...]:
        return self._order

    def allows(self, *, from_status: str, to_status: str) -> bool:
        return str(to_status) in self.moves.get(str(from_status), frozenset())

    def targets(self, *, from_status: str) -> list[str]:
        """The statuses ``from_status`` may become, in the order they were declared."""
        allowed = self.moves.get(str(from_status), frozenset())
        return [status for status in self._order if status in allowed]

    def available_transitions(self, *, obj: models.Model) -> list[str]:
        """What the admin may offer for ``obj`` as it was read (the move is checked again
        on the locked row when the button is pressed)."""
        return self.targets(from_status=getattr(obj, self.field))

    def check(self, *, from_status: str, to_status: str, label: str = "") -> None:
        if not self.allows(from_status=from_status, to_status=to_status):
            what = f"{self.name} {label}".strip()
            raise TransitionNotAllowed(
                f"{what}: {from_status} -> {to_status} is not allowed",
                from_status=str(from_status),
                to_status=str(to_status),
            )

    def transition(
        self,
        *,
        locked: M,
        to_status: str,
        event: Callable[[str, str], models.Model] | None,
        changes: Mapping[str, Any] | None = None,
        also_save: Iterable[str] = (),
        events: list[models.Model] | None = None,
        same_status_ok: bool = True,
        label: str = "",
    ) -> bool:
        """Move ``locked`` (a row fresh from ``select_for_update`` in the caller's
        transaction) to ``to_status``.

        ``changes`` are set on the row and written by the same UPDATE, with the fields
        named in ``also_save``. ``event(from_status, to_status)`` builds the event row:
        saved here, or appended to ``events`` for the caller to ``bulk_create`` with its
        others. When the row already has ``to_status`` and ``same_status_ok``, nothing
        moves, ``changes`` are still written, no event is recorded and False is returned,
        so a repeated call is harmless; otherwise a move the table lacks raises
        :class:`TransitionNotAllowed`."""
        if transaction.get_autocommit(using=locked._state.db):
            raise RuntimeError(
                f"{self.name}: transition outside a transaction (lock the row first)"
            )
        from_status = str(getattr(locked, self.field))
        fields = [*(changes or {}), *also_save]
        for name, value in (changes or {}).items():
            setattr(locked, name, value)
        if from_status == str(to_status) and same_status_ok:
            if fields:
                row_update(obj=locked, fields=fields)
            return False
        self.check(from_status=from_status, to_status=to_status, label=label)
        setattr(locked, self.field, to_status)
        row_update(obj=locked, fields=[self.field, *fields])
        if event is not None:
            row = event(from_status, str(to_status))
            if events is None:
                row_insert(obj=row)
            else:
                events.append(row)
        return True


def row_lock(*, model: type[M], pk: Any) -> M:
    """The row ``pk`` of ``model``, locked until the caller's transaction ends."""
    return model._default_manager.select_for_update().get(pk=pk)
