"""A slot for the Celery task a services module schedules but cannot import.

A tasks module imports its services at the top (its tasks are thin wrappers over them),
so the services cannot import the tasks back without a cycle. Instead the services module
declares a :class:`TaskSlot` and the app's ``AppConfig.ready()`` puts the task in it:
``core.outbox`` <- ``core.tasks``, ``webhooks.services`` <- ``webhooks.tasks``.
"""

from __future__ import annotations

from typing import Any

from celery import Task


class TaskSlot:
    """Holds one task object (registered once, at app-ready time) for the module that
    schedules it."""

    def __init__(self, *, label: str) -> None:
        self.label = label
        self._task: Task[Any, Any] | None = None

    def task_register(self, *, task: Task[Any, Any]) -> None:
        self._task = task

    @property
    def task(self) -> Task[Any, Any]:
        if self._task is None:
            raise RuntimeError(f"{self.label} is not registered: its app's ready() did not run")
        return self._task

    def eager(self) -> bool:
        """Tasks run in-process (no broker): a countdown would block, not wait."""
        return bool(self.task.app.conf.task_always_eager)
