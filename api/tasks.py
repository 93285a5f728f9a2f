"""Merchant API tasks: thin wrappers that call one service."""

from storefront.celery import app

from . import services


@app.task(acks_late=True)
def api_import_job_run(job_id: int) -> str:
    """Run a queued API key import (idempotent: a job already taken is skipped)."""
    return services.import_job_run(job_id=job_id).status
