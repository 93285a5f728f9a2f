"""Translation helpers that also work outside a configured Django project.

The decision engine is pure and runs in the ``decide_claim`` command and in plain unit
tests; ``gettext`` needs settings, so fall back to the source string when there are none.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext as django_gettext


def gettext(message: str) -> str:
    if not settings.configured:
        return message
    return django_gettext(message)


def gettext_noop(message: str) -> str:
    """Mark a string for translation without translating it (works without settings)."""
    return message


def language_active() -> str:
    """The active language (``en`` outside a configured project or with none active)."""
    if not settings.configured:
        return "en"
    return get_language() or settings.LANGUAGE_CODE
