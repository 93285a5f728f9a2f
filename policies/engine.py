"""The claim decision engine: one pure function from a claim case and a preset to a decision.

The contract is ``policy-decisions.md``; the reading of each store's text is in
``policies/README.md``. The engine knows no store: every number, switch and clause id comes
from the ``PresetRules``. It never touches the database, sends nothing and writes nothing.

Order of the checks (the first that applies decides):

0. a key that already received a remedy (replaced, refunded, exchanged, revoked) -> reject:
   a key gets one remedy;
1. reason not in the preset -> reject (``not_covered_clause``); treatment ``reject`` ->
   reject with the reason's clause (an excluded reason never yields a remedy);
2. ``cancellation`` reasons: cancel before delivery when the preset allows it, else refuse;
3. the claim window (purchase / failure / none) for reasons it applies to;
4. ``non_delivery`` and ``support`` treatments;
5. a key-fault claim with no delivered key; an activated key when the preset makes it
   final (optionally unless a defect is confirmed); a viewed key when viewing is final;
6. support first (until support is exhausted), then verification with the issuer;
7. the remedy: refund / exchange, or the ladder (replacement first, up to
   ``max_replacements``; refund when replacements failed or none is in stock, inside the
   refund window, and only for a confirmed defect when the preset says so).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .calendar import business_deadline_for
from .i18n import gettext as _
from .i18n import gettext_noop
from .rules import REMEDY_OUTCOMES, Outcome, PresetRules, ReasonRule, Treatment

OUTCOMES = tuple(o.value for o in Outcome)
VERIFICATION_STATES = ("pending", "confirmed_defective", "not_defective")
# What the claimed key already received (``ClaimCase.key_remedy``); "" = nothing yet.
KEY_REMEDIES = ("", "replaced", "refunded", "exchanged", "revoked")


REASON_LABELS = {
    "key_invalid": gettext_noop("an invalid key"),
    "key_already_used": gettext_noop("a key that was already used"),
    "code_expired": gettext_noop("a code that expired before its printed expiry"),
    "wrong_product_sent": gettext_noop("a wrong product sent by the store"),
    "not_delivered": gettext_noop("a key that was not delivered"),
    "double_charge": gettext_noop("a double charge"),
    "store_error": gettext_noop("an error made by the store"),
    "technical_problem": gettext_noop("a technical problem independent of your setup"),
    "activation_problem": gettext_noop("an activation problem"),
    "wrong_purchase": gettext_noop("buying the wrong product"),
    "incompatible": gettext_noop("a product incompatible with your system"),
    "change_of_mind": gettext_noop("a change of mind"),
    "misuse": gettext_noop("a key that fails because of a handling error"),
    "software_usage": gettext_noop("questions about using the software"),
    "lost_code": gettext_noop("a code you lost"),
    "wrong_account": gettext_noop("a code redeemed on the wrong account"),
    "shared_code": gettext_noop("a code shared with someone else"),
    "cancel_request": gettext_noop("a cancellation request"),
}


# Explanations: one plain sentence each, translated when the decision is made.
MESSAGES = {
    "not_covered": gettext_noop(
        "This policy does not cover %(reason)s, so no refund, replacement or exchange is due."
    ),
    "excluded": gettext_noop(
        "This policy excludes %(reason)s, so no refund, replacement or exchange is due."
    ),
    "anchor_purchase": gettext_noop("purchase"),
    "anchor_failure": gettext_noop("failure"),
    "outside_window": gettext_noop(
        "The claim came after the %(days)s-day window counted from the %(anchor)s had closed."
    ),
    "support": gettext_noop(
        "Support handles %(reason)s by helping you find, resend or set up the key; it is not a reason for a refund or replacement."
    ),
    "no_key_delivered": gettext_noop(
        "No key has been delivered on this order yet, so there is no faulty key to replace or refund."
    ),
    "support_first": gettext_noop(
        "Our support team first works with you to fix the problem; a replacement or refund is considered only if support cannot fix it."
    ),
    "refund_granted": gettext_noop(
        "This policy grants a full refund to the original payment method for %(reason)s."
    ),
    "exchange": gettext_noop(
        "A wrong purchase is not refunded, but it is exchanged for the product you meant to buy, subject to availability."
    ),
    "key_works": gettext_noop(
        "The check with the issuer found the key working, so no refund or replacement is due."
    ),
    "verify_by": gettext_noop(
        "We first check the key with its issuer, which takes up to %(amount)s business %(unit)s (until %(deadline)s)."
    ),
    "unit_days": gettext_noop("days"),
    "unit_hours": gettext_noop("hours"),
    "verify": gettext_noop(
        "We first check the key with its issuer; the remedy is decided once that check is done."
    ),
    "activated_verify": gettext_noop(
        "The key was activated, so the issuer must first confirm a defect before any remedy."
    ),
    "activated": gettext_noop(
        "The key was activated successfully, so the policy treats it as working and no refund or return is due."
    ),
    "viewed": gettext_noop(
        "The key has been delivered and viewed, which makes the sale final under this policy."
    ),
    "replace_confirmed": gettext_noop(
        "The key is confirmed faulty, so an equivalent unused key of the same product is sent as a replacement."
    ),
    "replace_first": gettext_noop(
        "A key that does not work as sold is first replaced with an equivalent unused key of the same product, at no cost."
    ),
    "replace_after_refund_window": gettext_noop(
        "The %(days)s-day refund guarantee has passed, so the key is replaced again instead of refunded."
    ),
    "refund_window_passed": gettext_noop(
        "The %(days)s-day refund guarantee has passed and no replacement key is available, so no remedy is due."
    ),
    "refund_replacement_failed": gettext_noop(
        "The replacement key failed as well, so a full refund is made to the original payment method."
    ),
    "refund_out_of_stock": gettext_noop(
        "No equivalent replacement key can be sent, so a full refund is made to the original payment method."
    ),
    "refund_confirmed": gettext_noop(
        "The key is confirmed faulty, so a full refund is made to the original payment method."
    ),
    "replacements_used": gettext_noop(
        "The replacements this policy allows have been used and it gives no refund, so no further remedy is due."
    ),
    "out_of_stock_no_refund": gettext_noop(
        "No replacement key is available and this policy gives no refund in that case."
    ),
    "delivered_on": gettext_noop(
        "The key was delivered on %(when)s; support will help you find it (spam folder, your account) or send it again."
    ),
    "never_delivered_refund": gettext_noop(
        "The key was never delivered and none can be sent, so a full refund is made to the original payment method."
    ),
    "delivery_pending": gettext_noop(
        "The key has not been delivered yet; support will complete the delivery or send it again."
    ),
    "delivery_not_overdue": gettext_noop(
        "The delivery is not overdue yet: this policy allows %(hours)s hours after purchase before a remedy is due."
    ),
    "non_delivery_replace": gettext_noop(
        "The key did not arrive within %(hours)s hours of purchase, so a key is sent to you now."
    ),
    "non_delivery_refund": gettext_noop(
        "The key did not arrive within %(hours)s hours of purchase, so a full refund is made to the original payment method."
    ),
    "cancel": gettext_noop(
        "The key has not been delivered yet, so the order is cancelled and refunded in full."
    ),
    "cancel_not_allowed": gettext_noop(
        "This policy does not let customers cancel an order, even before the key is delivered."
    ),
    "cancel_after_delivery": gettext_noop(
        "The key has already been delivered, so the sale is final and the order can no longer be cancelled."
    ),
    "already_replaced": gettext_noop(
        "This key was already replaced; a key gets one remedy, so a claim can only be about the key sent in its place."
    ),
    "already_refunded": gettext_noop(
        "This key was already refunded; a key gets one remedy, so nothing more is due for it."
    ),
    "already_exchanged": gettext_noop(
        "This key was already exchanged; a key gets one remedy, so nothing more is due for it."
    ),
    "already_revoked": gettext_noop(
        "This key was withdrawn (refunded or charged back); a key gets one remedy, so nothing more is due for it."
    ),
}


def _say(key: str) -> str:
    """The explanation ``key`` in the active language (fill ``%(...)s`` with ``%``)."""
    return _(MESSAGES[key])


@dataclass(frozen=True)
class ClaimCase:
    now: datetime
    purchased_at: datetime
    delivered_at: datetime | None
    first_viewed_at: datetime | None
    activated: bool
    reason: str
    failed_at: datetime | None
    verification: str
    replacements_given: int
    replacement_in_stock: bool
    support_exhausted: bool
    policy: str | None = None
    key_remedy: str = ""  # what the claimed key already received (KEY_REMEDIES)


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    clause: str
    explanation: str
    # Which message explains it and its raw values (datetimes stay datetimes), so that a
    # page can say the same sentence with its own date format: ``decision_explain``.
    message: str = field(default="", compare=False)
    params: tuple[tuple[str, Any], ...] = field(default=(), compare=False)

    def as_dict(self) -> dict[str, str]:
        return {"outcome": self.outcome, "clause": self.clause, "explanation": self.explanation}

    @property
    def is_remedy(self) -> bool:
        return self.outcome in REMEDY_OUTCOMES


def _decision(
    outcome: Outcome, clause: str, key: str, preset: PresetRules | None = None, **params: Any
) -> Decision:
    """A decision explained by ``MESSAGES[key]``; datetimes are written in the preset's zone."""

    def when(moment: datetime) -> str:
        # Every message with a date in it is given the preset whose zone writes it.
        assert preset is not None, f"{key}: a date needs the preset"
        return _when(moment, preset)

    return Decision(
        outcome,
        clause,
        _render(key, params, when=when),
        message=key,
        params=tuple(params.items()),
    )


def _render(key: str, params: dict[str, Any], *, when: Callable[[datetime], str]) -> str:
    text = _say(key)
    if not params:
        return text
    values = {}
    for name, value in params.items():
        if isinstance(value, datetime):
            value = when(value)
        elif name == "reason":
            value = _label(value)
        elif name in ("anchor", "unit"):
            value = _say(value)
        values[name] = value
    return text % values


def decision_explain(*, decision: Decision, when: Callable[[datetime], str]) -> str:
    """The decision's explanation in the active language, dates written by ``when``."""
    if not decision.message:
        return decision.explanation
    return _render(decision.message, dict(decision.params), when=when)


def _label(reason: str) -> str:
    return _(REASON_LABELS[reason])


def _when(moment: datetime, preset: PresetRules) -> str:
    local = moment.astimezone(preset.calendar.tz)
    return f"{local:%Y-%m-%d %H:%M} ({preset.calendar.time_zone})"


def claim_decide(*, case: ClaimCase, preset: PresetRules) -> Decision:
    """What ``preset`` says should happen to ``case``, and which clause says so."""
    if case.key_remedy:
        return _already_remedied(case, preset)
    rule = preset.reasons.get(case.reason)
    if rule is None:
        return _decision(
            Outcome.REJECT, preset.not_covered_clause, "not_covered", reason=case.reason
        )
    if rule.treatment == Treatment.REJECT:
        return _decision(Outcome.REJECT, rule.clause, "excluded", reason=case.reason)
    if rule.treatment == Treatment.CANCELLATION:
        return _cancellation(case, preset, rule)

    window = preset.claim_window
    if rule.windowed and not window.contains(
        purchased_at=case.purchased_at, failed_at=case.failed_at, now=case.now
    ):
        anchor = "anchor_purchase" if window.anchor == "purchase" else "anchor_failure"
        return _decision(
            Outcome.REJECT,
            window.clause or preset.not_covered_clause,
            "outside_window",
            days=window.days,
            anchor=anchor,
        )

    if rule.treatment == Treatment.NON_DELIVERY:
        return _non_delivery(case, preset, rule)
    if rule.treatment == Treatment.SUPPORT:
        return _decision(Outcome.SUPPORT, rule.clause, "support", reason=case.reason)

    if rule.treatment == Treatment.REMEDY and case.delivered_at is None:
        return _decision(Outcome.REJECT, preset.delivery.clause, "no_key_delivered")

    blocked = _finality(case, preset, rule)
    if blocked is not None:
        return blocked

    if rule.support_first and not case.support_exhausted:
        return _decision(Outcome.SUPPORT, rule.support_clause or rule.clause, "support_first")

    if rule.verify:
        if case.verification == "pending":
            return _verify(case, preset)
        if case.verification == "not_defective":
            return _key_works(rule)

    if rule.treatment == Treatment.REFUND:
        return _decision(Outcome.REFUND, rule.clause, "refund_granted", reason=case.reason)
    if rule.treatment == Treatment.EXCHANGE:
        return _decision(Outcome.EXCHANGE, rule.clause, "exchange")
    return _ladder(case, preset, rule)


def _already_remedied(case: ClaimCase, preset: PresetRules) -> Decision:
    """A key gets one remedy: once replaced, refunded, exchanged or revoked, no other."""
    ladder = preset.remedy
    clause = ladder.replace_clause if case.key_remedy == "replaced" else ladder.refund_clause
    return Decision(Outcome.REJECT, clause, _say(f"already_{case.key_remedy}"))


def _key_works(rule: ReasonRule) -> Decision:
    return _decision(Outcome.REJECT, rule.clause, "key_works")


def _verify(case: ClaimCase, preset: PresetRules) -> Decision:
    timing = preset.verification
    clause = timing.clause or preset.remedy.replace_clause
    if timing.amount:
        deadline = business_deadline_for(
            calendar=preset.calendar, start=case.now, amount=timing.amount, unit=timing.unit
        )
        return _decision(
            Outcome.VERIFY,
            clause,
            "verify_by",
            preset,
            amount=timing.amount,
            unit="unit_days" if timing.unit == "days" else "unit_hours",
            deadline=deadline,
        )
    return _decision(Outcome.VERIFY, clause, "verify")


def _finality(case: ClaimCase, preset: PresetRules, rule: ReasonRule) -> Decision | None:
    """An activated or viewed key that the preset treats as final, or None."""
    activated = preset.activated_key_final
    if rule.activation_blocks and case.activated and activated.enabled:
        # An enabled finality rule always names its clause (checked when the preset loads).
        assert activated.clause is not None
        if activated.unless_confirmed_defective and case.verification == "confirmed_defective":
            return None
        if activated.unless_confirmed_defective and case.verification == "pending":
            return _decision(Outcome.VERIFY, activated.clause, "activated_verify")
        return _decision(Outcome.REJECT, activated.clause, "activated")
    viewed = preset.viewed_key_final
    if (
        viewed.enabled
        and case.first_viewed_at is not None
        and rule.treatment in (Treatment.REFUND, Treatment.EXCHANGE)
    ):
        assert viewed.clause is not None  # as for activated_key_final
        return _decision(Outcome.REJECT, viewed.clause, "viewed")
    return None


def _ladder(case: ClaimCase, preset: PresetRules, rule: ReasonRule) -> Decision:
    """Replacement first while the preset allows one more (``max_replacements``, None = no
    limit) and an equivalent key is in stock; then the refund the preset gives."""
    ladder = preset.remedy
    if case.verification == "not_defective":
        return _key_works(rule)
    replacements_left = (
        ladder.max_replacements is None or case.replacements_given < ladder.max_replacements
    )
    if ladder.replacement_first and replacements_left and case.replacement_in_stock:
        key = "replace_confirmed" if case.verification == "confirmed_defective" else "replace_first"
        return _decision(Outcome.REPLACE, ladder.replace_clause, key)

    replacement_failed = not replacements_left and ladder.refund_when_replacement_fails
    out_of_stock = not case.replacement_in_stock and ladder.refund_when_out_of_stock
    if replacement_failed or out_of_stock or not ladder.replacement_first:
        if ladder.refund_requires_confirmation and case.verification != "confirmed_defective":
            return _verify(case, preset)
        refund_window = ladder.refund_window
        if not refund_window.contains(
            purchased_at=case.purchased_at, failed_at=case.failed_at, now=case.now
        ):
            if case.replacement_in_stock:
                return _decision(
                    Outcome.REPLACE,
                    ladder.replace_clause,
                    "replace_after_refund_window",
                    days=refund_window.days,
                )
            return _decision(
                Outcome.REJECT,
                refund_window.clause or ladder.refund_clause,
                "refund_window_passed",
                days=refund_window.days,
            )
        if replacement_failed and case.replacements_given:
            key = "refund_replacement_failed"
        elif out_of_stock:
            key = "refund_out_of_stock"
        else:
            key = "refund_confirmed"
        return _decision(Outcome.REFUND, rule.refund_clause or ladder.refund_clause, key)

    if not replacements_left:
        return _decision(Outcome.REJECT, ladder.replace_clause, "replacements_used")
    return _decision(Outcome.REJECT, ladder.replace_clause, "out_of_stock_no_refund")


def _non_delivery(case: ClaimCase, preset: PresetRules, rule: ReasonRule) -> Decision:
    """A key that did not arrive. Every answer cites the reason's own clause (the one that
    covers delivery; ``refund_clause`` when the preset names another for the refund), and no
    remedy is due before the preset's non-delivery deadline. ``non_delivery_remedy``
    ``support`` means the seed offers help and a resend only (delivery may be held for a
    security check): never a refund on this path."""
    delivery = preset.delivery
    hours = delivery.non_delivery_deadline_hours
    deadline = case.purchased_at + timedelta(hours=hours) if hours is not None else None
    delivered_late = (
        case.delivered_at is not None
        and deadline is not None
        and case.delivered_at > deadline
        and not case.activated
    )
    if case.delivered_at is not None and not delivered_late:
        return _decision(
            Outcome.SUPPORT, rule.clause, "delivered_on", preset, when=case.delivered_at
        )
    refund_clause = rule.refund_clause or rule.clause
    if delivery.non_delivery_remedy == Outcome.SUPPORT:
        return _decision(Outcome.SUPPORT, rule.clause, "delivery_pending")
    if deadline is None:
        if not case.replacement_in_stock and preset.remedy.refund_when_out_of_stock:
            return _decision(Outcome.REFUND, refund_clause, "never_delivered_refund")
        return _decision(Outcome.SUPPORT, rule.clause, "delivery_pending")
    if case.delivered_at is None and case.now < deadline:
        return _decision(Outcome.SUPPORT, rule.clause, "delivery_not_overdue", hours=hours)
    if delivery.non_delivery_remedy == Outcome.REPLACE and case.replacement_in_stock:
        return _decision(Outcome.REPLACE, rule.clause, "non_delivery_replace", hours=hours)
    return _decision(Outcome.REFUND, refund_clause, "non_delivery_refund", hours=hours)


def _cancellation(case: ClaimCase, preset: PresetRules, rule: ReasonRule) -> Decision:
    if case.delivered_at is None:
        if preset.cancellation.before_delivery:
            return _decision(Outcome.CANCEL, preset.cancellation.clause, "cancel")
        return _decision(Outcome.REJECT, rule.clause, "cancel_not_allowed")
    return _decision(Outcome.REJECT, rule.clause, "cancel_after_delivery")
