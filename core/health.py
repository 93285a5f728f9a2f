"""Readiness: ``/readyz`` answers 200 only when this process can serve a shop.

Built on django-health-check (v4: a view listing check instances). Ready means the
database answers, no migration is left unapplied, the cache stores and returns a value
(Redis when ``REDIS_URL`` is set), and a Redis broker answers a ping. Anything else is
503, so a load balancer or orchestrator keeps traffic away. ``/healthz`` stays the
liveness probe (no database, no cache).
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import Future, ThreadPoolExecutor

import redis
from django.conf import settings
from django.db import DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils.decorators import classonlymethod
from health_check.base import HealthCheck
from health_check.checks import Cache, Database
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView


@dataclasses.dataclass
class Migrations(HealthCheck):
    """Every migration on disk is applied to the database (a deploy that skipped
    ``migrate`` serves errors, so it is not ready)."""

    alias: str = "default"

    def run(self) -> None:
        try:
            executor = MigrationExecutor(connections[self.alias])
            plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except DatabaseError as error:
            raise ServiceUnavailable("cannot read the migration history") from error
        if plan:
            raise ServiceUnavailable(f"{len(plan)} migration(s) not applied")


@dataclasses.dataclass
class Broker(HealthCheck):
    """The Celery broker answers (Redis only; in-process tasks need none)."""

    def run(self) -> None:
        url = settings.CELERY_BROKER_URL
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            client.ping()
        except redis.RedisError as error:
            raise ServiceUnavailable("the broker does not answer") from error
        finally:
            client.close()


class _ClosingExecutor(ThreadPoolExecutor):
    """Threads for the synchronous checks that close the database connections each check
    opened, so a probe every few seconds leaves no connection behind."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        def run():
            try:
                return fn(*args, **kwargs)
            finally:
                connections.close_all()

        return super().submit(run)


def readiness_checks() -> list[HealthCheck]:
    checks: list[HealthCheck] = [Database(), Migrations(), Cache()]
    broker = getattr(settings, "CELERY_BROKER_URL", "") or ""
    if not settings.CELERY_TASK_ALWAYS_EAGER and broker.startswith(("redis://", "rediss://")):
        checks.append(Broker())
    return checks


class ReadinessView(HealthCheckView):
    """Plain text, one line per check; 503 when any check fails."""

    @classonlymethod
    def as_view(cls, **initkwargs):
        view = super().as_view(**initkwargs)
        view.store_clock_exempt = True  # core.shop_clock: no time zone lookup
        return view

    def get_checks(self):
        return readiness_checks()

    def get_executor(self):
        return _ClosingExecutor(max_workers=4, thread_name_prefix="readyz")

    async def get(self, request, *args, **kwargs):
        response = await super().get(request, *args, **kwargs)
        if response.status_code == 500:
            response.status_code = 503
        return response

    def render_to_response(self, context, **response_kwargs):
        return self.render_to_response_text(response_kwargs.get("status", 200))
