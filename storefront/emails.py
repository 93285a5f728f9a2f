"""One way to send a templated email in the recipient's language (HTML + text).

Templates live in templates/emails/<name>.subject.txt, <name>.txt and <name>.html.
Callers pass only what the templates need; a key code must be passed only to the
delivery and replacement emails, and never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation

from core.identity import shop_identity_get

logger = logging.getLogger(__name__)


def shop_time_zone() -> str:
    """The store's own time zone (the active preset's calendar), for dates in emails."""
    from policies.selectors import preset_active_get

    rules = preset_active_get()
    return rules.calendar.time_zone if rules else settings.TIME_ZONE


def email_render(*, name: str, context: dict[str, Any], language: str) -> EmailMultiAlternatives:
    time_zone = shop_time_zone()
    identity = shop_identity_get()
    full_context = {
        "SHOP_NAME": identity.name,
        "SHOP_TIME_ZONE": time_zone,
        "SITE_URL": settings.SITE_URL.rstrip("/"),
        "SHOP_SUPPORT_EMAIL": identity.support_email,
        "SHOP_IDENTITY": identity,
        **context,
    }
    with translation.override(language), timezone.override(time_zone):
        subject = render_to_string(f"emails/{name}.subject.txt", full_context)
        text = render_to_string(f"emails/{name}.txt", full_context)
        html = render_to_string(f"emails/{name}.html", full_context)
    message = EmailMultiAlternatives(subject=" ".join(subject.split()), body=text)
    message.attach_alternative(html, "text/html")
    return message


def email_send(
    *,
    name: str,
    to: Sequence[str],
    context: dict[str, Any],
    language: str = "en",
    headers: dict[str, str] | None = None,
) -> None:
    """Render and send; raises on SMTP failure so a task can retry with backoff."""
    message = email_render(name=name, context=context, language=language)
    message.to = list(to)
    message.from_email = settings.DEFAULT_FROM_EMAIL
    if headers:
        message.extra_headers.update(headers)
    message.send(fail_silently=False)
    logger.info("email sent: %s to %d recipient(s)", name, len(message.to))


def staff_alert_send(*, subject: str, body: str) -> None:
    """A plain email to the staff alert list (low stock, stale holds, due claims)."""
    from django.core.mail import send_mail

    send_mail(
        subject=f"[{shop_identity_get().name}] {subject}",
        message=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=settings.STAFF_ALERT_EMAILS,
        fail_silently=False,
    )
