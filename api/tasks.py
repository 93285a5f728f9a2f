"""Merchant API tasks: thin wrappers that call one service."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, name="api.tasks.api_import_job_run")
def import_job_run_task(job_id: int) -> str:
    """Run a queued API key import (idempotent: a job already taken is skipped)."""
    return services.import_job_run(job_id=job_id).status
