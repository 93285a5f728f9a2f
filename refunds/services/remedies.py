"""Remedies: replacement key, exchange for another product, refund, cancellation.
Money only through orders.services.order_refund, never inside our transactions; keys only
through keys.services.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from keys.services import (
    KeyAlreadyWithdrawn,
    key_allocate,
    key_allocate_replacement,
    key_revoke_for_order,
    key_revoke_with_replacements,
    key_transition,
)
from orders.models import Refund
from orders.selectors import order_refundable_amount
from orders.services import order_cancel, order_line_add_for_exchange, order_refund
from policies.rules import Outcome

from .. import conf
from ..models import Claim, ClaimEventKind, ClaimReason, Remedy
from ..selectors import claim_recommendation_get, key_remedy_given_get
from ._common import ClaimError, _notify, _open_locked, _require_perm
from .decisions import _claim_approve, _override_check, _verified_first
from .transitions import claim_event_record


def remedy_given_message(*, given: str) -> str:
    """Why a key that already received a remedy cannot get another (clear, for anyone)."""
    messages = {
        "replaced": _(
            "This key was already replaced. If the key sent in its place does not work, "
            "open a claim for that key."
        ),
        "refunded": _("This key was already refunded. A key is remedied once."),
        "exchanged": _(
            "This key was already exchanged for another product. A key is remedied once."
        ),
        "revoked": _(
            "This key was withdrawn (its order was refunded or charged back), so it cannot "
            "be replaced or refunded again."
        ),
    }
    return messages[given]


def _remedy_once_check(*, claim: Claim, refund: bool = False) -> None:
    """Inside the claim lock: refuse a second remedy for the claim's key, and any other
    remedy while a refund for this claim is under way (its money may already be sent)."""
    if not refund and claim.refund_requested_at is not None:
        raise ClaimError(
            _(
                "A refund was already requested for this claim; it cannot also get a "
                "replacement or an exchange. Retry the refund instead."
            )
        )
    given = key_remedy_given_get(key=claim.key, exclude_claim=claim)
    if given:
        raise ClaimError(remedy_given_message(given=given))


def claim_approve_replacement(*, claim: Claim, actor, note: str = "") -> Claim:
    """Send an equivalent unused key of the same product, linked to the failed key, which
    is marked defective against its batch (keys.services.key_allocate_replacement does
    all three in one transaction). The customer gets it by email and on screen."""
    _require_perm(actor, "refunds.decide_claim")
    with transaction.atomic():
        locked = _open_locked(claim)
        if locked.key is None:
            raise ClaimError(_("This claim has no key to replace."))
        _remedy_once_check(claim=locked)
        decision = claim_recommendation_get(claim=locked)
        _verified_first(decision=decision)
        _override_check(decision=decision, outcome=Outcome.REPLACE, note=note)
        try:
            result = key_allocate_replacement(
                failed_key=locked.key,
                actor=actor,
                reason=f"claim {locked.number}: replacement approved",
                reference=locked.number,
            )
        except KeyAlreadyWithdrawn as exc:
            raise ClaimError(remedy_given_message(given="revoked")) from exc
        if not result.ok:
            raise ClaimError(
                _(
                    "No equivalent unused key is in stock. Refund the customer instead, or wait for stock."
                )
            )
        new_key = result.keys[0]
        locked = _claim_approve(
            claim=locked,
            actor=actor,
            decision=decision,
            remedy=Remedy.REPLACE,
            note=note,
            reason="replacement sent",
            data={"new_key": new_key.pk},
            changes={"replacement_key": new_key},
            email="claim_replacement",
        )
    return locked


def _exchange_difference(*, claim: Claim, product) -> Decimal:
    """What the customer paid for the key minus the price of the product they meant to buy.

    Decision (shown in the admin form): an exchange goes to a product of the same price or
    cheaper; a cheaper product refunds the difference to the original payment method. A
    dearer product is not an exchange (it would need a payment): the customer buys it.
    """
    paid = claim.order_line.unit_paid  # after any discount
    if product.pk == claim.order_line.product_id:
        raise ClaimError(_("An exchange goes to a different product; use a replacement instead."))
    if product.currency != claim.order.currency:
        raise ClaimError(_("The exchange product must be sold in the order's currency."))
    if product.price > paid:
        raise ClaimError(
            _(
                "%(product)s costs more than the customer paid; an exchange can only go to a product of the same price or cheaper."
            )
            % {"product": product.name}
        )
    return paid - product.price


def _exchange_line_get(*, claim: Claim, product, actor=None):
    """The order line that holds the exchanged product, one per claim (orders' service)."""
    return order_line_add_for_exchange(
        order_line=claim.order_line, product=product, reference=claim.number, actor=actor
    )


def claim_approve_exchange(*, claim: Claim, actor, product, note: str = "") -> Claim:
    """Swap the key for one of the product the customer meant to buy (Windows Key Mart's
    incorrect-purchase clause): a key of ``product`` is allocated and delivered through
    keys.services.key_allocate, the first key is revoked, a cheaper product refunds the
    difference through orders.services.order_refund."""
    _require_perm(actor, "refunds.decide_claim")
    difference = _exchange_difference(claim=claim, product=product)
    if difference > conf.refund_limit_without_manager():
        _require_perm(actor, "refunds.refund_above_limit")
    with transaction.atomic():
        locked = _open_locked(claim)
        if locked.key_id is None:
            raise ClaimError(_("This claim has no key to exchange."))
        _remedy_once_check(claim=locked)
        decision = claim_recommendation_get(claim=locked)
        _verified_first(decision=decision)
        _override_check(decision=decision, outcome=Outcome.EXCHANGE, note=note)
        line = _exchange_line_get(claim=locked, product=product, actor=actor)
        result = key_allocate(
            order_line=line, quantity=1, actor=actor, reason=f"exchange, claim {locked.number}"
        )
        if not result.ok:
            raise ClaimError(_("No key of %(product)s is in stock.") % {"product": product.name})
        new_key = result.keys[0]
        _key_revoke(key=locked.key, actor=actor, reason=f"exchanged, claim {locked.number}")
        locked = _claim_approve(
            claim=locked,
            actor=actor,
            decision=decision,
            remedy=Remedy.EXCHANGE,
            note=note,
            reason=f"exchanged for {product.name}",
            data={"product": product.pk, "new_key": new_key.pk, "difference": str(difference)},
            email=None,  # sent once the difference is refunded
            changes={
                "replacement_key": new_key,
                "exchange_product": product,
                "refund_amount": difference or None,
                "refund_requested_at": timezone.now() if difference else None,
            },
        )
    if difference > 0:
        refund = _refund_call(
            claim=locked, amount=difference, actor=actor, revoke_keys=False, kind="claim_exchange"
        )
        Claim.objects.filter(pk=locked.pk).update(refund_reference=str(refund.pk))
        locked.refund_reference = str(refund.pk)
        claim_event_record(
            claim=locked,
            kind=ClaimEventKind.REFUND,
            actor=actor,
            data={"amount": str(difference), "refund": refund.pk, "status": refund.status},
        )
    with transaction.atomic():
        _notify(claim=locked, name="claim_exchange")
    return locked


def _refund_call(
    *, claim: Claim, amount: Decimal | None, actor, revoke_keys: bool, kind: str = "claim"
):
    """One call to orders' refund service, never inside our transaction. The same
    (order, reason, reference=claim number) is always the same refund and idempotency key."""
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("order_refund must not be called inside a transaction")
    return order_refund(
        order=claim.order,
        amount=amount,
        reason=kind,
        reference=claim.number,
        actor=actor,
        revoke_keys=revoke_keys,
    )


def _refund_left(order) -> Decimal:
    return order_refundable_amount(order=order)


def claim_refund_amount_default(*, claim: Claim) -> Decimal:
    """One key's price for a key claim; what is left of the order otherwise (the orders
    selector's reading, the same one the refund service enforces)."""
    left = _refund_left(claim.order)
    if claim.key_id is not None:
        return min(claim.order_line.unit_paid, left)  # what the key cost after discount
    return left


def claim_approve_refund(
    *, claim: Claim, actor, amount: Decimal | None = None, note: str = ""
) -> Claim:
    """Refund to the original payment method (orders' idempotent refund), revoke the key.

    Safe to retry after a timeout: the amount is fixed on the first request, and orders'
    refund is keyed by (order, "claim", claim number) with a fixed Stripe idempotency key,
    so the gateway refunds once. While the gateway has not accepted it the claim stays
    open; its final status follows the refund webhooks (shown on the claim page).
    """
    _require_perm(actor, "refunds.decide_claim")
    with transaction.atomic():
        locked = Claim.objects.select_for_update().get(pk=claim.pk)
        if not locked.is_open:
            raise ClaimError(_("This claim is already decided."))
        decision = claim_recommendation_get(claim=locked)
        if locked.refund_requested_at is not None:
            amount = locked.refund_amount  # a retry: exactly the same request again
            assert amount is not None  # written together with refund_requested_at
            first = (
                locked.events.filter(kind=ClaimEventKind.REFUND_REQUESTED).order_by("-id").first()
            )
            note = note or (first.reason if first else "")
        else:
            _remedy_once_check(claim=locked, refund=True)
            _verified_first(decision=decision)
            _override_check(decision=decision, outcome=Outcome.REFUND, note=note)
            amount = amount if amount is not None else claim_refund_amount_default(claim=locked)
            if amount <= 0:
                raise ClaimError(_("Nothing is left to refund on this order."))
            if amount > conf.refund_limit_without_manager():
                _require_perm(actor, "refunds.refund_above_limit")
            locked.refund_requested_at = timezone.now()
            locked.refund_amount = amount
            locked.save(update_fields=["refund_requested_at", "refund_amount", "updated_at"])
            claim_event_record(
                claim=locked,
                kind=ClaimEventKind.REFUND_REQUESTED,
                actor=actor,
                reason=note,
                data={"amount": str(amount)},
            )
    order = locked.order
    # Keys are withdrawn with the money: the claimed key, or every key of the order when
    # the whole order is refunded for a key problem. A double charge or a store error
    # refunds money without taking away keys the customer paid for.
    # A refund of the whole line (amount >= its total) withdraws every key of the line,
    # replacements included; a refund of one key withdraws it and any key sent in its place.
    keeps_keys = locked.key_id is None and locked.reason in (
        ClaimReason.DOUBLE_CHARGE,
        ClaimReason.STORE_ERROR,
    )
    whole_order = not keeps_keys and (locked.key_id is None or amount >= order.total)
    whole_line = not keeps_keys and amount >= locked.order_line.line_total
    refund = _refund_call(claim=locked, amount=amount, actor=actor, revoke_keys=whole_order)
    if refund.status == "failed":
        with transaction.atomic():
            claim_event_record(
                claim=locked,
                kind=ClaimEventKind.REFUND_FAILED,
                actor=actor,
                reason=refund.error[:500],
            )
        raise ClaimError(
            _(
                "The payment provider did not confirm the refund (%(error)s). Nothing was refunded twice: try again."
            )
            % {"error": refund.error or _("no answer")}
        )
    with transaction.atomic():
        locked = Claim.objects.select_for_update().get(pk=claim.pk)
        if not locked.is_open:
            return locked  # a concurrent retry finished first
        if not whole_order and locked.key_id is not None:
            _refund_keys_withdraw(claim=locked, actor=actor, whole_line=whole_line)
        locked = _claim_approve(
            claim=locked,
            actor=actor,
            decision=decision,
            remedy=Remedy.REFUND,
            note=note,
            reason="refunded",
            data={"amount": str(amount), "refund": refund.pk, "refund_status": refund.status},
            changes={"refund_reference": str(refund.pk)},
            email="claim_refund",
        )
    return locked


def claim_approve_cancel(*, claim: Claim, actor, note: str = "") -> Claim:
    """Cancel a not-yet-delivered order and refund it in full (orders.services.order_cancel),
    where the policy allows cancellation before delivery."""
    _require_perm(actor, "refunds.decide_claim")
    decision = claim_recommendation_get(claim=claim)
    with transaction.atomic():
        locked = _open_locked(claim)
        _override_check(decision=decision, outcome=Outcome.CANCEL, note=note)
        amount = _refund_left(locked.order)
        if amount > conf.refund_limit_without_manager():
            _require_perm(actor, "refunds.refund_above_limit")
        if locked.refund_requested_at is None:
            locked.refund_requested_at = timezone.now()
            locked.refund_amount = amount if amount > 0 else None
            locked.save(update_fields=["refund_requested_at", "refund_amount", "updated_at"])
    order_cancel(order=locked.order, actor=actor, reason=f"claim {locked.number}")

    refund = Refund.objects.filter(order=locked.order, reason="cancelled").first()
    with transaction.atomic():
        locked = _open_locked(claim)
        locked = _claim_approve(
            claim=locked,
            actor=actor,
            decision=decision,
            remedy=Remedy.REFUND,
            note=note,
            reason="order cancelled before delivery",
            data={"cancelled": True},
            changes={"refund_reference": str(refund.pk) if refund else ""},
            email="claim_refund",
        )
    return locked


def _refund_keys_withdraw(*, claim: Claim, actor, whole_line: bool) -> None:
    reason = f"refunded, claim {claim.number}"
    if whole_line:
        key_revoke_for_order(
            order=claim.order,
            order_line=claim.order_line,
            actor=actor,
            reason=reason,
            reference=claim.number,
        )
    else:
        assert claim.key is not None  # the caller withdraws keys only for a claim on a key
        key_revoke_with_replacements(
            key=claim.key, actor=actor, reason=reason, reference=claim.number
        )


def _key_revoke(*, key, actor, reason: str) -> None:
    key.refresh_from_db(fields=["status"])
    if key.status in ("delivered", "reserved"):
        key_transition(key=key, to_status="revoked", actor=actor, reason=reason)
