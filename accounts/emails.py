"""Allauth's account emails in the shop's design and the customer's language.

Allauth renders each email's text from its templates (``templates/account/email/``
overrides the greeting); :func:`account_email_html` lays that same text out in the
shop's HTML email (``emails/account.html``, on ``emails/_base.html`` like the order
emails): paragraphs, the action link as a button, a one-time code set apart. One HTML
template serves every account email allauth has (confirmation, password reset, unknown
account, email changed, sign-in code, second factor changes...), present and future.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

URL = re.compile(r"https?://[^\s<>\"]+")

# The button under an email's main link, by allauth template (the last path part): the
# label of the button on the page the link opens (allauth's own wording, which allauth
# ships translated).
ACTION_LABELS = {
    "email_confirmation": _("Confirm Email Address"),
    "email_confirmation_signup": _("Confirm Email Address"),
    "password_reset_key": _("Change Password"),
    "unknown_account": _("Sign Up"),
    "account_already_exists": _("Reset My Password"),
}


@dataclass(frozen=True)
class Block:
    text: str = ""  # plain text; ``html`` is that text escaped, its links made links
    url: str = ""
    code: str = ""

    @property
    def html(self) -> str:
        parts, end = [], 0
        for match in URL.finditer(self.text):
            parts.append(escape(self.text[end : match.start()]))
            parts.append(format_html('<a href="{0}"><bdi>{0}</bdi></a>', match.group(0)))
            end = match.end()
        parts.append(escape(self.text[end:]))
        return mark_safe("".join(parts).replace("\n", "<br>"))  # noqa: S308 (escaped)


def account_email_language(*, request, user) -> str:
    """The customer's language: the one active for the request that triggered the email
    (a sign-up in French gets a French confirmation); without a request (a command, a
    task), the account's preferred language."""
    if request is not None:
        return translation.get_language() or settings.LANGUAGE_CODE
    preferred = getattr(user, "preferred_language", "")
    languages = {code for code, _name in settings.LANGUAGES}
    return preferred if preferred in languages else settings.LANGUAGE_CODE


def account_email_blocks(*, text: str, code: str = "") -> list[Block]:
    """Paragraphs of the text email; a link that ends a paragraph becomes a button after
    it ("To confirm, go to" [Confirm Email Address]); the one-time code stands apart."""
    blocks = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        if code and paragraph == code:
            blocks.append(Block(code=paragraph))
            continue
        last = None
        for last in URL.finditer(paragraph):  # noqa: B007 (the last link is wanted)
            pass
        if last is not None and last.end() == len(paragraph):
            before = paragraph[: last.start()].strip()
            if before:
                blocks.append(Block(text=before))
            blocks.append(Block(url=last.group(0)))
        else:
            blocks.append(Block(text=paragraph))
    return blocks


def account_email_html(*, template_prefix: str, text: str, context: dict[str, Any]) -> str:
    """The HTML version of an account email whose text allauth rendered (call it with
    the email's language and time zone active)."""
    name = template_prefix.rsplit("/", 1)[-1]
    return render_to_string(
        "emails/account.html",
        {
            **context,
            "blocks": account_email_blocks(text=text, code=str(context.get("code") or "")),
            "action_label": ACTION_LABELS.get(name, _("Open the link")),
        },
    )
