"""The wording of checkout consent checkboxes (versioned: acceptances record the version)."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext, gettext_noop

CONSENT_WORDING_VERSION = "2026.1"

CONSENT_WORDING = {
    "policy_acceptance": gettext_noop(
        "I have read and accept the terms of sale and the refund, delivery and warranty policies."
    ),
    "immediate_delivery_consent": gettext_noop(
        "I ask for my key to be delivered immediately after payment, before the withdrawal "
        "period ends."
    ),
    "withdrawal_waiver": gettext_noop(
        "I understand that I lose my right of withdrawal once the key has been delivered "
        "(French Consumer Code, article L221-28 13°)."
    ),
}


def consent_wording(*, kind: str, language: str) -> str:
    with translation.override(language):
        return gettext(CONSENT_WORDING[kind])
