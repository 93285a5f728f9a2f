"""Cancelling an order that is not delivered (staff, or a customer the policy allows)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from keys.services import key_revoke_for_order
from policies.engine import ClaimCase, Outcome, claim_decide
from policies.selectors import clause_url, preset_active_get

from ..models import (
    Order,
    OrderEmail,
    OrderEmailKind,
    OrderEmailStatus,
)
from .emails import _order_email_create, _order_email_enqueue
from .errors import CancellationRefused, OrderError
from .refunds import order_refund
from .transitions import CANCELLABLE_STATES, PAID_STATES, S, order_transition

# --- cancellation and refunds -----------------------------------------------------------------


def order_cancel(*, order: Order, actor: Any = None, reason: str) -> Order:
    """Cancel an order that is not delivered; refund it in full if it was paid."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status == S.CANCELLED:
            was_paid = locked.paid_at is not None
        else:
            if locked.status not in CANCELLABLE_STATES:
                raise OrderError(_("This order has been delivered and cannot be cancelled."))
            was_paid = locked.status in PAID_STATES
            # Reserved keys never shown go back to stock (anything shown is revoked).
            key_revoke_for_order(order=locked, actor=actor, reason=f"order cancelled: {reason}")
            order_transition(order=locked, to_status=S.CANCELLED, actor=actor, reason=reason)
            if was_paid:
                # queued after the refund below (the email says it was refunded)
                _order_email_create(order=locked, kind=OrderEmailKind.CANCELLED, enqueue=False)
    if was_paid:
        order_refund(order=locked, reason="cancelled", actor=actor, revoke_keys=False)
        email = OrderEmail.objects.filter(order=locked, kind=OrderEmailKind.CANCELLED).first()
        if email is not None and email.status != OrderEmailStatus.SENT:
            _order_email_enqueue(email=email)
    return locked


def order_cancel_request(*, order: Order, actor: Any = None) -> Order:
    """A customer asks to cancel: the policy decides (cancel_request); refused after delivery."""
    decision = _cancel_decision(order=order)
    if decision is not None and decision.outcome != Outcome.CANCEL:
        raise CancellationRefused(decision.explanation, decision.clause, _clause_url(decision))
    if decision is None and order.status not in (S.ON_HOLD, S.BACKORDERED, S.PENDING, S.FAILED):
        raise CancellationRefused(_("This order has been delivered and cannot be cancelled."))
    if order.status not in CANCELLABLE_STATES:
        raise CancellationRefused(_("This order has been delivered and cannot be cancelled."))
    return order_cancel(order=order, actor=actor, reason="cancelled at the customer's request")


def _cancel_decision(*, order: Order):
    preset = preset_active_get()
    if preset is None:
        return None

    now = timezone.now()
    case = ClaimCase(
        now=now,
        purchased_at=order.paid_at or order.created_at,
        delivered_at=order.delivered_at,
        first_viewed_at=None,
        activated=False,
        reason="cancel_request",
        failed_at=None,
        verification="pending",
        replacements_given=0,
        replacement_in_stock=True,
        support_exhausted=False,
    )
    return claim_decide(case=case, preset=preset)


def _clause_url(decision) -> str:
    return clause_url(clause_id=decision.clause)
