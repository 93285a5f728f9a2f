"""The wording of checkout consent checkboxes (versioned: acceptances record the version).

The recorded version names the wording and the language it was shown in
(``2026.1-fr``): a customer whose language has no translation of a wording sees, and
is recorded as having seen, the English one (``2026.1-en``).
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext, gettext_noop

CONSENT_WORDING_VERSION = "2026.1"
# The general acceptance of the shop's terms (recorded as a PolicyAcceptance too); the
# other kinds are specific consents a customer gives at checkout (e.g. a waiver).
POLICY_ACCEPTANCE = "policy_acceptance"

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


def consent_wording_version(*, kind: str, language: str) -> str:
    """``<wording version>-<language actually shown>`` for ``consent_wording(kind, language)``."""
    shown = (language or "en").split("-")[0]
    if shown != "en" and consent_wording(kind=kind, language=language) == CONSENT_WORDING[kind]:
        shown = "en"  # no translation in that language: the English wording is shown
    return f"{CONSENT_WORDING_VERSION}-{shown}"
