"""Screenshots: rate limits and quota, validation and storage, and purging those of
claims that were never sent.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from core.ratelimit import ratelimit_check, ratelimit_hit

from .. import conf
from ..evidence import EvidenceRejected, evidence_delete, evidence_write, upload_clean
from ..models import Evidence


class EvidenceLimited(EvidenceRejected):
    """Over a rate limit or the claim's quota: refused before the file is looked at."""


EVIDENCE_QUOTA_WINDOW_SECONDS = 24 * 3600  # a draft's screenshots are purged after a day


def _evidence_limits(*, ip: str | None, claim_ref: str) -> dict[str, dict]:
    window = conf.evidence_rate_window_seconds()
    return {
        "ip": {
            "scope": "evidence-ip",
            "key": ip or "-",
            "limit": conf.evidence_uploads_per_ip(),
            "window_seconds": window,
        },
        "claim": {
            "scope": "evidence-claim",
            "key": claim_ref,
            "limit": conf.evidence_uploads_per_claim(),
            "window_seconds": window,
        },
        "quota": {
            "scope": "evidence-quota",
            "key": claim_ref,
            "limit": conf.evidence_quota_per_claim(),
            "window_seconds": EVIDENCE_QUOTA_WINDOW_SECONDS,
        },
    }


def evidence_uploads_allowed(*, ip: str | None, claim_ref: str) -> bool:
    """Whether one more screenshot from this IP for this claim would be looked at (counts
    nothing): lets a form full of screenshots be refused before it is even parsed."""
    limits = _evidence_limits(ip=ip, claim_ref=claim_ref or "-")
    return all(ratelimit_check(**limit) for limit in limits.values())


def evidence_create(
    *, upload, uploaded_by=None, upload_token: str = "", ip: str | None = None, claim_ref: str = ""
) -> Evidence:
    """Validate, re-encode and store one uploaded image. Raises EvidenceRejected.

    Before the file is read, the upload is counted against the client's IP and the claim
    (``claim_ref``: the claim, or the order whose claim is being written) and refused
    (EvidenceLimited) over either rate limit or once the claim's quota of stored images
    is used up. Only stored images count against the quota.
    """
    limits = _evidence_limits(ip=ip, claim_ref=claim_ref or "-")
    if not ratelimit_check(**limits["quota"]):
        raise EvidenceLimited(
            _(
                "This claim already has %(n)s screenshots, the most we accept. "
                "Please describe anything else in your message."
            )
            % {"n": conf.evidence_quota_per_claim()}
        )
    within_ip = ratelimit_hit(**limits["ip"])
    if not (within_ip and ratelimit_hit(**limits["claim"])):
        raise EvidenceLimited(
            _("Too many screenshots were sent in a short time. Please wait a few minutes.")
        )
    image = upload_clean(upload=upload)
    storage_name = evidence_write(image=image)
    ratelimit_hit(**limits["quota"])
    original = (getattr(upload, "name", "") or "screenshot").rsplit("/", 1)[-1][:120]
    return Evidence.objects.create(
        uploaded_by=uploaded_by if getattr(uploaded_by, "is_authenticated", False) else None,
        upload_token=upload_token,
        storage_name=storage_name,
        original_name=original,
        content_type=image.content_type,
        size=len(image.data),
        width=image.width,
        height=image.height,
        sha256=image.sha256,
    )


def evidence_purge_orphans(*, now: datetime | None = None) -> int:
    """Delete screenshots uploaded for a claim that was never sent (after a day)."""
    cutoff = (now or timezone.now()) - timedelta(days=1)
    purged = 0
    for evidence in Evidence.objects.filter(claim__isnull=True, created_at__lt=cutoff)[:1000]:
        with contextlib.suppress(FileNotFoundError):  # a name outside the private root
            evidence_delete(storage_name=evidence.storage_name)
        evidence.delete()
        purged += 1
    return purged
