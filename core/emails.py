"""One way to render a templated email in the recipient's language (HTML + text).

Templates live in templates/emails/<name>.subject.txt, <name>.txt and <name>.html.
Callers pass only what the templates need; a key code must be passed only to the
delivery and replacement emails, and never logged. Nothing is sent from here: every
email goes through core's outbox (``core.outbox``), whose renderers call
:func:`email_render` at send time.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation

from core.identity import shop_identity_get
from core.shop_clock import shop_time_zone


def email_base_context(*, time_zone: str) -> dict[str, Any]:
    """What ``emails/_base.html`` needs: the shop's name, address and support contact
    (order emails and allauth's account emails share it)."""
    identity = shop_identity_get()
    return {
        "SHOP_NAME": identity.name,
        "SHOP_TIME_ZONE": time_zone,
        "SITE_URL": settings.SITE_URL.rstrip("/"),
        "SHOP_SUPPORT_EMAIL": identity.support_email,
        "SHOP_IDENTITY": identity,
    }


def email_render(*, name: str, context: dict[str, Any], language: str) -> EmailMultiAlternatives:
    time_zone = shop_time_zone()
    full_context = {**email_base_context(time_zone=time_zone), **context}
    with translation.override(language), timezone.override(time_zone):
        subject = render_to_string(f"emails/{name}.subject.txt", full_context)
        text: str = render_to_string(f"emails/{name}.txt", full_context)
        text = text.rstrip() + "\n" + render_to_string("emails/_identity_footer.txt", full_context)
        html = render_to_string(f"emails/{name}.html", full_context)
    message = EmailMultiAlternatives(subject=" ".join(subject.split()), body=text)
    message.attach_alternative(html, "text/html")
    return message
