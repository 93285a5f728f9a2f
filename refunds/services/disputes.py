"""Disputes (chargebacks): Stripe's ``charge.dispute.*`` events applied once, and the
opening actions the active preset asks for.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.services import user_flag, user_suspend
from core.money import money_from_minor_units
from core.statemachine import StateMachine
from keys.services import key_revoke_for_order
from orders.hooks import DisputeOrderUnknown
from orders.models import Order
from orders.services import order_transition
from webhooks.services import webhook_event_emit

from ..models import DISPUTE_MACHINE, Dispute, DisputeEvent, DisputeEventKind, DisputeStatus
from ..selectors import preset_rules_get
from ._common import _staff_alert
from .dispute_evidence import dispute_evidence_assemble

logger = logging.getLogger(__name__)

DISPUTE_STATUSES_OPEN = (
    DisputeStatus.WARNING_NEEDS_RESPONSE,
    DisputeStatus.NEEDS_RESPONSE,
    DisputeStatus.WARNING_UNDER_REVIEW,
    DisputeStatus.UNDER_REVIEW,
)


def _dispute_order_find(*, obj: dict):
    ids = [v for v in (obj.get("payment_intent"), obj.get("charge")) if isinstance(v, str) and v]
    metadata = obj.get("metadata") or {}
    q = Q(gateway_payment_id__in=ids) if ids else Q(pk__in=[])
    if metadata.get("order_number"):
        q |= Q(number=metadata["order_number"])
    return Order.objects.filter(q).first()


def _dispute_order_named(*, obj: dict):
    """The order a dispute's metadata names (to link a waiting event), or None."""
    try:
        order_id = uuid.UUID(str((obj.get("metadata") or {}).get("order_id") or ""))
    except ValueError:
        return None
    return Order.objects.filter(pk=order_id).first()


def dispute_transition(
    *,
    dispute,
    to_status: str,
    kind: str,
    event_id: str | None = None,
    actor=None,
    data: dict | None = None,
    changes: dict | None = None,
):
    """Set a dispute's status (Stripe's value) and record a DisputeEvent, on ``dispute``
    as the caller locked it (``select_for_update`` in the caller's transaction).

    Stripe is the record of a dispute's status and its events may arrive out of order: a
    move outside Stripe's lifecycle (``DISPUTE_MACHINE``) is applied all the same, and its
    event says so (``outside_lifecycle``). The event is recorded even when the status
    stays (a funds event)."""
    from_status = str(dispute.status)
    data = dict(data or {})
    machine = DISPUTE_MACHINE
    if from_status != str(to_status) and not machine.allows(
        from_status=from_status, to_status=to_status
    ):
        logger.warning(
            "dispute %s: Stripe moved it %s -> %s, outside the lifecycle",
            dispute.stripe_dispute_id,
            from_status,
            to_status,
        )
        data["outside_lifecycle"] = True
        machine = _stripe_says(from_status=from_status, to_status=str(to_status))

    def event(before: str, after: str) -> DisputeEvent:
        return DisputeEvent(
            dispute=dispute,
            stripe_event_id=event_id,
            kind=kind,
            from_status=before,
            to_status=after,
            actor=actor,
            data=data,
        )

    moved = machine.transition(
        locked=dispute,
        to_status=to_status,
        event=event,
        changes=changes,
        also_save=("updated_at",),
        label=dispute.stripe_dispute_id,
    )
    if not moved:
        event(from_status, from_status).save()
    return dispute


def _stripe_says(*, from_status: str, to_status: str) -> StateMachine:
    """A machine of the one move Stripe made (Stripe's word stands over our table)."""
    return StateMachine(
        name="dispute (as Stripe says)", moves={from_status: {to_status}, to_status: set()}
    )


def dispute_event_handle(*, event: dict) -> Any:
    """Apply one Stripe ``charge.dispute.*`` event; a repeated event changes nothing.

    Idempotent by the event id (unique in DisputeEvent) and, for events without one, by
    the dispute id + status + funds flag: applying the same state twice writes nothing.
    """
    kind = str(event.get("type", ""))
    obj = ((event.get("data") or {}).get("object")) or {}
    dispute_id = obj.get("id")
    event_id = event.get("id") or None
    if not kind.startswith("charge.dispute.") or not dispute_id:
        raise ValueError(f"not a dispute event: {kind!r}")
    if event_id and DisputeEvent.objects.filter(stripe_event_id=event_id).exists():
        return Dispute.objects.filter(stripe_dispute_id=dispute_id).first()

    order = _dispute_order_find(obj=obj)
    if order is None:
        raise DisputeOrderUnknown(
            f"dispute {dispute_id}: no order for the disputed payment yet",
            order=_dispute_order_named(obj=obj),
        )
    if order.paid_at is None:  # its payment event has not been applied yet
        raise DisputeOrderUnknown(
            f"dispute {dispute_id}: order {order.number} is not paid yet", order=order
        )
    currency = str(obj.get("currency") or order.currency).upper()
    status = str(obj.get("status") or DisputeStatus.NEEDS_RESPONSE)
    due_by = (obj.get("evidence_details") or {}).get("due_by")
    try:
        with transaction.atomic():
            dispute, created = Dispute.objects.select_for_update().get_or_create(
                stripe_dispute_id=dispute_id,
                defaults={
                    "order": order,
                    "charge_id": str(obj.get("charge") or ""),
                    "payment_intent_id": str(obj.get("payment_intent") or ""),
                    "status": status,
                    "reason": str(obj.get("reason") or ""),
                    "amount": money_from_minor_units(minor=obj.get("amount"), currency=currency),
                    "currency": currency,
                    "evidence_due_by": (
                        datetime.fromtimestamp(int(due_by), tz=UTC) if due_by else None
                    ),
                },
            )
            funds_withdrawn = dispute.funds_withdrawn
            if kind == DisputeEventKind.FUNDS_WITHDRAWN:
                funds_withdrawn = True
            elif kind == DisputeEventKind.FUNDS_REINSTATED:
                funds_withdrawn = False
            unchanged = (
                not created
                and dispute.status == status
                and dispute.funds_withdrawn == funds_withdrawn
            )
            if unchanged and (dispute.opened_handled_at or kind != DisputeEventKind.CREATED):
                if event_id:  # remember the id so a replay is recognised at once
                    DisputeEvent.objects.create(
                        dispute=dispute,
                        stripe_event_id=event_id,
                        kind=kind,
                        from_status=status,
                        to_status=status,
                        data={"no_change": True},
                    )
                return dispute
            dispute = dispute_transition(
                dispute=dispute,
                to_status=status,
                kind=kind,
                event_id=event_id,
                data={"reason": obj.get("reason"), "created": created},
                changes={"funds_withdrawn": funds_withdrawn},
            )
            if dispute.opened_handled_at is None:
                _dispute_opened(dispute=dispute)
            elif kind == DisputeEventKind.CLOSED:
                _staff_alert(
                    kind="dispute",
                    subject=_("Dispute %(id)s closed: %(status)s")
                    % {"id": dispute.stripe_dispute_id, "status": dispute.get_status_display()},
                    body=_("Order %(order)s.") % {"order": dispute.order.number},
                )
    except IntegrityError:
        # The same event applied concurrently: the first one stands.
        return Dispute.objects.filter(stripe_dispute_id=dispute_id).first()
    return dispute


def _dispute_opened(*, dispute) -> None:
    """Order disputed, keys revoked and account suspended where the preset says so, the
    customer flagged, and the evidence assembled for staff to review."""
    order = dispute.order
    try:
        rules = preset_rules_get(slug=order.policy_preset or None)
    except LookupError:
        rules = preset_rules_get()
    chargeback = rules.chargeback
    if order.status != "disputed":
        order_transition(
            order=order, to_status="disputed", reason=f"chargeback {dispute.stripe_dispute_id}"
        )
    revoke = chargeback.revoke_key
    if revoke:
        key_revoke_for_order(order=order, reason=f"chargeback {dispute.stripe_dispute_id}")
    user = order.user
    if user is not None:
        user_flag(user=user, reason=f"chargeback {dispute.stripe_dispute_id} on {order.number}")
        if chargeback.suspend_account:
            user_suspend(
                user=user,
                reason=f"chargeback {dispute.stripe_dispute_id}"
                + (f" ({chargeback.clause})" if chargeback.clause else ""),
            )
    dispute.evidence = dispute_evidence_assemble(dispute=dispute)
    dispute.evidence_assembled_at = timezone.now()
    dispute.opened_handled_at = timezone.now()
    dispute.save(
        update_fields=["evidence", "evidence_assembled_at", "opened_handled_at", "updated_at"]
    )

    DisputeEvent.objects.create(
        dispute=dispute,
        kind=DisputeEventKind.OPENED_ACTIONS,
        from_status=dispute.status,
        to_status=dispute.status,
        data={
            "preset": rules.slug,
            "keys_revoked": revoke,
            "account_suspended": bool(user and chargeback.suspend_account),
            "customer_flagged": bool(user),
            "clause": chargeback.clause,
        },
    )
    _staff_alert(
        kind="dispute",
        subject=_("Chargeback on order %(order)s") % {"order": order.number},
        body=_(
            "Dispute %(id)s, %(amount)s %(currency)s, reason %(reason)s. Evidence is ready for review in the admin."
        )
        % {
            "id": dispute.stripe_dispute_id,
            "amount": dispute.amount,
            "currency": dispute.currency,
            "reason": dispute.reason or "-",
        },
    )

    webhook_event_emit(
        event="dispute.created",
        payload={
            "dispute": {
                "id": dispute.pk,
                "stripe_dispute_id": dispute.stripe_dispute_id,
                "order_id": str(order.pk),
                "order_number": order.number,
                "status": dispute.status,
                "reason": dispute.reason,
                "amount": str(dispute.amount),
                "currency": dispute.currency,
                "evidence_due_by": (
                    dispute.evidence_due_by.isoformat() if dispute.evidence_due_by else None
                ),
                "keys_revoked": revoke,
            }
        },
        dedupe_key=f"dispute.created:{dispute.pk}",
    )
