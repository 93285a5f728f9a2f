"""Refunds through the order's gateway: requested idempotently, the gateway's answer
recorded under the order lock, the money counted on the order and its keys revoked."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from core.retry import transaction_require_none
from keys.selectors import keys_for_order
from keys.services import key_revoke_for_order

from ..gateways import GatewayError, gateway_get
from ..hooks import hooks_run_on_commit, refund_succeeded_hooks
from ..models import (
    Order,
    OrderEventKind,
    Refund,
    RefundStatus,
)
from ..selectors import order_refundable_amount
from ._common import _staff_alert
from .errors import OrderError
from .transitions import S, order_event_add, order_transition, order_webhook_emit

logger = logging.getLogger(__name__)


# The reason recorded for a refund made at the gateway without us (the Stripe dashboard).
EXTERNAL_REFUND_REASON = "gateway"


def order_refund(
    *,
    order: Order,
    amount: Decimal | None = None,
    reason: str,
    actor: Any = None,
    revoke_keys: bool = True,
    reference: str = "",
) -> Refund:
    """One idempotent refund through the order's gateway.

    The same (order, reason, reference) always means the same refund: calling again
    retries a failed attempt with the same idempotency key and never refunds twice.
    ``amount`` None refunds whatever is left. The gateway is called outside any
    transaction; its answer is recorded afterwards under the order lock.
    """
    transaction_require_none(what="order_refund calls the payment gateway")
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        refund = Refund.objects.filter(order=locked, reason=reason, reference=reference).first()
        if refund is None:
            if locked.paid_at is None:
                raise OrderError(_("This order was never paid: there is nothing to refund."))

            left = order_refundable_amount(order=locked)
            amount = left if amount is None else Decimal(amount)
            if amount <= 0 or amount > left:
                raise OrderError(
                    _("A refund must be more than zero and at most %(left)s %(currency)s.")
                    % {"left": left, "currency": locked.currency}
                )
            refund = Refund.objects.create(
                order=locked,
                amount=amount,
                currency=locked.currency,
                reason=reason[:64],
                reference=reference[:64],
                idempotency_key=f"refund-{locked.pk}-{reason[:64]}-{reference[:64]}",
                gateway=locked.gateway,
                revoke_keys=revoke_keys,
                actor=actor if getattr(actor, "pk", None) else None,
            )
            order_event_add(
                order=locked,
                kind=OrderEventKind.REFUND,
                actor=actor,
                reason=f"refund requested ({reason})",
                data={"refund_id": refund.pk, "amount": amount, "currency": locked.currency},
            )
        if refund.status in (RefundStatus.SUCCEEDED, RefundStatus.CANCELED):
            return refund
        if refund.status == RefundStatus.PENDING and refund.gateway_refund_id:
            return refund  # the gateway has it; its webhook finishes the job
    try:
        answer = gateway_get(name=locked.gateway).refund_create(
            order=locked,
            amount=refund.amount,
            idempotency_key=refund.idempotency_key,
            refund_id=refund.pk,
        )
    except GatewayError as exc:
        with transaction.atomic():
            row = Refund.objects.select_for_update().get(pk=refund.pk)
            row.attempts += 1
            row.status = RefundStatus.FAILED
            row.error = str(exc)[:2000]
            row.save(update_fields=["attempts", "status", "error", "updated_at"])
        logger.warning("refund %s for order %s failed: %s", refund.pk, locked.number, exc)
        return row
    return refund_gateway_update(
        refund_id=refund.pk, gateway_refund_id=answer.id, status=answer.status, attempt=True
    )


def refund_gateway_update(
    *, refund_id: int, gateway_refund_id: str, status: str, attempt: bool = False
) -> Refund:
    """Record the gateway's answer (API call or webhook) for one refund; idempotent."""
    with transaction.atomic():
        refund = Refund.objects.select_related("order").get(pk=refund_id)
        order = Order.objects.select_for_update().get(pk=refund.order_id)
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        fields = ["updated_at"]
        if attempt:
            refund.attempts += 1
            fields.append("attempts")
        if gateway_refund_id and refund.gateway_refund_id != gateway_refund_id:
            refund.gateway_refund_id = gateway_refund_id
            fields.append("gateway_refund_id")
        if refund.status == RefundStatus.SUCCEEDED:
            refund.save(update_fields=fields)
            return refund
        new_status = {
            "succeeded": RefundStatus.SUCCEEDED,
            "failed": RefundStatus.FAILED,
            "canceled": RefundStatus.CANCELED,
        }.get(status, RefundStatus.PENDING)
        refund.status = new_status
        refund.error = "" if new_status != RefundStatus.FAILED else "refused by the gateway"
        fields += ["status", "error"]
        refund.save(update_fields=fields)
        if new_status == RefundStatus.SUCCEEDED:
            _refund_apply(order=order, refund=refund)
            hooks_run_on_commit(registry=refund_succeeded_hooks, refund_id=refund.pk)
        return refund


def _refund_apply(*, order: Order, refund: Refund) -> None:
    """Inside the order lock: count a succeeded refund on the order and move its status."""
    order.refunded_total = min(order.total, order.refunded_total + refund.amount)
    order.save(update_fields=["refunded_total"])
    order_event_add(
        order=order,
        kind=OrderEventKind.REFUND,
        actor=refund.actor,
        reason=f"refund succeeded ({refund.reason})",
        data={"refund_id": refund.pk, "amount": refund.amount, "currency": refund.currency},
    )
    full = order.refunded_total >= order.total
    cancelled = False
    if order.status in (S.DELIVERED, S.PARTIALLY_REFUNDED, S.DISPUTED):
        target = S.REFUNDED if full else S.PARTIALLY_REFUNDED
        if target != order.status:
            order_transition(order=order, to_status=target, reason=f"refund ({refund.reason})")
    elif order.status in (S.PAID, S.ON_HOLD, S.BACKORDERED) and full:
        order_transition(order=order, to_status=S.CANCELLED, reason="refunded before delivery")
        cancelled = True
    order_webhook_emit(
        order=order,
        event="order.refunded",
        dedupe_key=f"order.refunded:refund:{refund.pk}",
        extra={
            "refund": {
                "id": refund.pk,
                "amount": str(refund.amount),
                "currency": refund.currency,
                "reason": refund.reason,
                "full": full,
            }
        },
    )
    external = refund.reason == EXTERNAL_REFUND_REASON
    # Keys go with the money: when the refund asks for it, when every cent went back
    # (whoever refunded it), and when the order was cancelled before delivery (reserved
    # keys nobody saw return to stock; anything shown is revoked).
    if refund.revoke_keys or cancelled or (external and full):
        key_revoke_for_order(order=order, actor=refund.actor, reason=f"refunded ({refund.reason})")
    elif external:
        _refund_external_partial_alert(order=order, refund=refund)


def _refund_external_partial_alert(*, order: Order, refund: Refund) -> None:
    """A part of the payment was refunded outside the shop: which keys it pays back is a
    staff decision, so nothing is revoked and staff are told (after commit)."""
    keys = [
        f"#{key.pk} {key.masked} ({key.status})"
        for key in keys_for_order(order=order.pk).filter(status__in=("delivered", "reserved"))
    ]
    order_event_add(
        order=order,
        kind=OrderEventKind.REFUND,
        reason="partial refund made outside the shop: staff choose which keys to revoke",
        data={
            "refund_id": refund.pk,
            "gateway_refund_id": refund.gateway_refund_id,
            "amount": refund.amount,
            "currency": refund.currency,
        },
    )
    subject = f"Order {order.number}: partial refund made outside the shop"
    body = (
        f"{refund.amount} {refund.currency} of order {order.number} "
        f"({order.total} {order.currency}) was refunded outside the shop "
        f"(gateway refund {refund.gateway_refund_id or '-'}).\n"
        "No key was revoked. Choose which keys this refund pays back and revoke them:\n"
        + ("\n".join(keys) or "(no key is held by this order)")
    )
    _staff_alert(
        kind="refund_outside_shop",
        subject=subject,
        body=body,
        dedupe_key=f"order:{order.pk}:partial-refund:{refund.pk}",
    )
