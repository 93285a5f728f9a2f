"""Periodic work and bulk staff actions: escalating claims near their deadline and
closing those that waited on the customer too long.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.outbox import staff_alert_enqueue

from .. import conf
from ..models import Claim, ClaimEventKind, ClaimStatus
from ..selectors import claims_due_for_escalation, claims_stale_needs_info
from ._common import _notify
from .decisions import claim_close
from .evidence import evidence_purge_orphans
from .transitions import claim_event_record, claim_transition


def claims_stale_close(*, claims, actor, now: datetime | None = None) -> int:
    """Close those of ``claims`` that waited on the customer longer than the shop allows
    (the staff version of ``claims_close_stale``); others are left alone."""
    now = now or timezone.now()
    stale = claims_stale_needs_info(now=now, after=conf.claim_needs_info_close_after()).filter(
        pk__in=[c.pk for c in claims]
    )
    closed = 0
    for claim in list(stale):
        claim_close(claim=claim, actor=actor, reason="no answer from the customer")
        closed += 1
    return closed


# --- periodic work -----------------------------------------------------------------------


def claims_escalate_due(*, now: datetime | None = None) -> int:
    """Alert staff once per claim whose verification deadline is near or past."""
    now = now or timezone.now()
    sent = 0
    for claim_id in list(
        claims_due_for_escalation(now=now, lead=conf.claim_escalate_lead()).values_list(
            "pk", flat=True
        )[:500]
    ):
        with transaction.atomic():
            marked = Claim.objects.filter(pk=claim_id, escalated_at__isnull=True).update(
                escalated_at=now
            )
            if not marked:
                continue
            claim = Claim.objects.select_related("order").get(pk=claim_id)
            due_at = claim.verification_due_at
            assert due_at is not None  # claims_due_for_escalation selects dated claims only
            overdue = due_at <= now
            claim_event_record(
                claim=claim,
                kind=ClaimEventKind.ESCALATED,
                reason="verification overdue" if overdue else "verification due soon",
                data={"due": due_at.isoformat()},
            )
            # The alert is written to the outbox with the mark, in one transaction.
            staff_alert_enqueue(
                kind="claim_escalation",
                dedupe_key=f"claim:{claim.pk}:escalated",
                subject=(
                    _("Claim %(number)s: verification overdue")
                    if overdue
                    else _("Claim %(number)s: verification due soon")
                )
                % {"number": claim.number},
                body=_("Order %(order)s. Verification due %(due)s (%(source)s).")
                % {
                    "order": claim.order.number,
                    "due": due_at.isoformat(),
                    "source": claim.get_verification_due_source_display(),
                },
            )
            sent += 1
    return sent


def claims_close_stale(*, now: datetime | None = None) -> int:
    """Close claims that waited on the customer too long, with notice (and drop
    screenshots of claims that were never sent)."""
    now = now or timezone.now()
    closed = 0
    for claim in list(
        claims_stale_needs_info(now=now, after=conf.claim_needs_info_close_after())[:500]
    ):
        with transaction.atomic():
            locked = Claim.objects.select_for_update(skip_locked=True).filter(pk=claim.pk).first()
            if locked is None or locked.status != ClaimStatus.NEEDS_INFO:
                continue
            claim_transition(
                claim=locked,
                to_status=ClaimStatus.CLOSED,
                reason="no answer from the customer",
                data={"waited_days": conf.claim_needs_info_close_after().days},
            )
            _notify(claim=locked, name="claim_closed_stale")
            closed += 1
    evidence_purge_orphans(now=now)
    return closed
