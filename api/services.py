"""Merchant API writes: API keys, import jobs, and the audit rows the admin also writes.

Every write through the API calls the same service the admin calls (keys.services,
refunds.services) with the key's service user as actor, and writes the same admin
LogEntry the admin writes for that action, so the audit reads alike whichever way a
change came in.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from core.task_slots import TaskSlot
from keys import services as key_services
from keys.crypto import code_decrypt, code_encrypt
from keys.models import KeyBatch
from webhooks.admin import WebhookEndpointForm

from .models import ApiKey, ImportJob, ImportJobStatus, Scope

logger = logging.getLogger(__name__)

KEY_TAG = "ks"
PREFIX_BYTES = 5  # 10 hex characters
SECRET_BYTES = 32
LAST_USED_RESOLUTION = timedelta(minutes=1)

# The task that runs a queued import (api.tasks.import_job_run_task): that module imports
# this one, so ApiConfig.ready() puts the task here instead.
IMPORT_JOB_RUN_TASK = TaskSlot(label="api.tasks.import_job_run_task")


class ApiKeyError(ValueError):
    """A key that cannot be created as asked (the message says why)."""


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def admin_log(*, actor, obj, message: str | list[dict[str, Any]]) -> None:
    """The admin's own audit row (``ModelAdmin.log_change``) for a change made elsewhere."""
    LogEntry.objects.log_actions(
        user_id=actor.pk,
        queryset=[obj],
        action_flag=CHANGE,
        change_message=message,
        single_object=True,
    )


@sensitive_variables("raw", "secret")
def api_key_create(*, name: str, scopes: list[str], created_by=None) -> tuple[ApiKey, str]:
    """A new key and its service user. Returns (row, the key in clear): show it once."""
    name = (name or "").strip()
    if not name:
        raise ApiKeyError(_("An API key needs a name."))
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise ApiKeyError(
            _("Unknown scope(s): %(unknown)s. Known: %(known)s.")
            % {"unknown": ", ".join(unknown), "known": ", ".join(Scope.values)}
        )
    prefix = secrets.token_hex(PREFIX_BYTES)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    raw = f"{KEY_TAG}_{prefix}_{secret}"
    with transaction.atomic():
        user = get_user_model().objects.create(
            # The login field; .invalid is reserved (RFC 2606): no mail can ever reach it.
            email=f"api-key-{prefix}@api.invalid",
            first_name=name[:150],
            last_name="(API key)",
            is_active=True,
            is_staff=False,
        )
        user.set_unusable_password()
        user.save(update_fields=["password"])
        api_key = ApiKey.objects.create(
            name=name[:100],
            prefix=prefix,
            secret_hash=_hash(raw),
            scopes=sorted(set(scopes)),
            user=user,
            created_by=created_by if created_by is not None and created_by.pk else None,
        )
    # No log line: logs go to stdout, where create_api_key prints the key alone.
    return api_key, raw


@sensitive_variables("raw")
def api_key_authenticate(*, raw: str) -> ApiKey | None:
    """The active key ``raw`` is, or None. Found by prefix, checked in constant time."""
    parts = (raw or "").strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_TAG or not parts[1] or not parts[2]:
        return None
    api_key = ApiKey.objects.select_related("user").filter(prefix=parts[1], revoked_at=None).first()
    if api_key is None:
        _hash(raw)  # same work either way
        return None
    if not hmac.compare_digest(api_key.secret_hash, _hash(raw)):
        return None
    return api_key


def api_key_touch(*, api_key: ApiKey, now=None) -> bool:
    """Record use, at most once per minute per key (one UPDATE, no write otherwise)."""
    now = now or timezone.now()
    if api_key.last_used_at and now - api_key.last_used_at < LAST_USED_RESOLUTION:
        return False
    stale = now - LAST_USED_RESOLUTION
    updated = (
        ApiKey.objects.filter(pk=api_key.pk)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale))
        .update(last_used_at=now)
    )
    if updated:
        api_key.last_used_at = now
    return bool(updated)


def api_key_revoke(*, api_key: ApiKey, actor=None) -> ApiKey:
    """Revoke a key for good (idempotent): it stops authenticating at once."""
    with transaction.atomic():
        locked = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
            if actor is not None:
                admin_log(actor=actor, obj=locked, message="Revoked the API key")
    api_key.revoked_at = locked.revoked_at
    return api_key


# --------------------------------------------------------------------------- products


def product_update(*, product, actor, price: Decimal | None = None, is_active=None):
    """Change a product's price and/or on-sale flag, validated like the admin form, with
    the admin's change LogEntry ("Changed price and on sale.")."""
    changed = []
    if price is not None and price != product.price:
        product.price = price
        changed.append("price")
    if is_active is not None and is_active != product.is_active:
        product.is_active = is_active
        changed.append("is_active")
    if not changed:
        return product
    product.full_clean(validate_unique=False, validate_constraints=True)
    product.save(update_fields=[*changed, "updated_at"])
    labels = [str(product._meta.get_field(name).verbose_name) for name in changed]
    admin_log(actor=actor, obj=product, message=[{"changed": {"fields": labels}}])
    return product


# --------------------------------------------------------------------------- batches


def batch_quarantine_set(*, batch: KeyBatch, actor, reason: str, quarantined: bool) -> KeyBatch:
    """Quarantine a batch or lift it, through the admin's service and its LogEntry."""
    if quarantined:
        key_services.batch_quarantine(batch=batch, reason=reason, actor=actor)
        admin_log(actor=actor, obj=batch, message=f"Quarantined: {reason}")
    else:
        key_services.batch_quarantine_lift(batch=batch, reason=reason, actor=actor)
        admin_log(actor=actor, obj=batch, message=f"Lifted the quarantine: {reason}")
    return batch


# --------------------------------------------------------------------------- import jobs


@sensitive_variables("codes", "payload")
def import_job_create(
    *,
    api_key: ApiKey,
    product,
    codes: list[str],
    source_name: str,
    fmt: str = "text",
    batch: KeyBatch | None = None,
    supplier_name: str = "",
    cost_per_key: Decimal | None = None,
    currency: str = "",
    reference: str = "",
    inline_max: int,
) -> ImportJob:
    """Record an import; run it now when it has at most ``inline_max`` lines, else enqueue
    it on commit (the caller polls the job). The codes wait encrypted, never in clear."""
    if batch is None and not supplier_name.strip():
        raise ValidationError(
            {"supplier": _("Pick an existing batch, or a supplier for a new one.")}
        )
    if batch is None and cost_per_key is None:
        raise ValidationError({"cost_per_key": _("A new batch needs its cost per key.")})
    if batch is not None and batch.product_id != product.pk:
        raise ValidationError({"batch": _("This batch holds keys of another product.")})
    payload = code_encrypt("\n".join(codes))
    job = ImportJob.objects.create(
        api_key=api_key,
        product=product,
        batch=batch,
        supplier_name=supplier_name.strip()[:200],
        cost_per_key=cost_per_key,
        currency=(currency or "").upper()[:3],
        reference=reference[:120],
        source_name=source_name[:255],
        fmt=fmt,
        payload=payload,
        lines_total=len(codes),
    )
    if len(codes) <= inline_max:
        return import_job_run(job_id=job.pk)
    import_job_run_task = IMPORT_JOB_RUN_TASK.task
    transaction.on_commit(lambda: import_job_run_task.delay(job.pk))
    return job


@sensitive_variables("lines")
def import_job_run(*, job_id: int) -> ImportJob:
    """Run one queued job (idempotent: a job already taken is left alone)."""
    now = timezone.now()
    taken = ImportJob.objects.filter(pk=job_id, status=ImportJobStatus.QUEUED).update(
        status=ImportJobStatus.RUNNING, started_at=now
    )
    job = ImportJob.objects.select_related("api_key__user", "product", "batch").get(pk=job_id)
    if not taken:
        return job
    actor = job.api_key.user
    lines = code_decrypt(job.payload).split("\n") if job.payload else []
    batch: KeyBatch | None
    try:
        if job.batch is not None:
            batch = job.batch
            report = key_services.key_import(
                product=job.product,
                batch=batch,
                lines=lines,
                source_name=job.source_name,
                actor=actor,
                fmt=job.fmt,
            )
        else:
            batch, report = key_services.batch_create_and_import(
                product=job.product,
                supplier=job.supplier_name,
                cost_per_key=job.cost_per_key,
                currency=job.currency or job.product.currency,
                lines=lines,
                source_name=job.source_name,
                reference=job.reference,
                actor=actor,
                fmt=job.fmt,
            )
    except Exception:
        logger.exception("API import job #%s failed", job.pk)
        job.status, job.finished_at, job.payload = ImportJobStatus.FAILED, timezone.now(), ""
        job.message = _("The import failed on our side; nothing was imported. Try again.")
        job.save(update_fields=["status", "finished_at", "payload", "message"])
        return job
    if report.ok:
        admin_log(actor=actor, obj=batch, message=f"Imported keys: {report.message}")
        job.batch = batch
    job.status = ImportJobStatus.IMPORTED if report.ok else ImportJobStatus.REJECTED
    job.imported, job.bad_lines = report.imported, report.bad_lines
    job.errors = [{"line": e.line, "reason": str(e.reason)} for e in report.errors]
    job.message = str(report.message)
    job.key_import_id = report.import_id if report.ok or job.batch_id else None
    job.payload = ""  # the codes are in the inventory now, or refused: drop them
    job.finished_at = timezone.now()
    job.save()
    return job


# --------------------------------------------------------------------------- webhooks


def webhook_endpoint_save(*, actor, data: dict, endpoint=None):
    """Create or change an endpoint through the admin's form (its URL guard and choices)
    and write the admin's LogEntry. Raises ValidationError with the form's errors."""
    initial = {}
    if endpoint is not None:
        initial = {f: getattr(endpoint, f) for f in ("name", "url", "format", "events")}
        initial["owner"] = endpoint.owner_id
    form = WebhookEndpointForm(data={**initial, **data}, instance=endpoint)
    if not form.is_valid():
        raise ValidationError({name: list(errors) for name, errors in form.errors.items()})
    saved = form.save()
    if endpoint is None:
        LogEntry.objects.log_actions(
            user_id=actor.pk,
            queryset=[saved],
            action_flag=ADDITION,
            change_message=[{"added": {}}],
            single_object=True,
        )
    else:
        admin_log(
            actor=actor, obj=saved, message=[{"changed": {"fields": sorted(form.changed_data)}}]
        )
    return saved
