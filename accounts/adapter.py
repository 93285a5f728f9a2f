import uuid

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from allauth.mfa.adapter import DefaultMFAAdapter
from django.contrib import messages
from django.contrib.sites.shortcuts import get_current_site
from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.emails import email_base_context
from core.identity import shop_identity_get
from core.outbox import outbox_enqueue
from core.shop_clock import shop_time_zone
from core.site import site_url_rebase, site_url_site

from .emails import account_email_html, account_email_language
from .services import staff_email_trust

OUTBOX_ERASE = "accounts.erase_body"  # the hook registered in AccountsConfig.ready


def account_email_outbox_hook(*, message, event: str, facts: dict) -> None:
    """An account email (confirmation link, sign-in code, password reset) holds a secret:
    once the SMTP server accepted it, its stored body is erased."""
    if event == "accepted":
        message.body_text = message.body_html = ""
        message.save(update_fields=["body_text", "body_html"])


class AccountAdapter(DefaultAccountAdapter):
    """Suspended accounts cannot sign in; staff made by the operator need no email
    confirmation (their second factor is mandatory instead); allauth's emails go through
    core's outbox; everything else is allauth's default."""

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Render as allauth does, in the customer's language and the store's time zone,
        add the HTML version in the shop's email design, then queue in the outbox (sent
        on commit, retried)."""
        request = allauth_context.request
        language = account_email_language(request=request, user=context.get("user"))
        time_zone = shop_time_zone()
        ctx = {"request": request, "email": email, "current_site": get_current_site(request)}
        ctx.update(email_base_context(time_zone=time_zone))
        ctx.update(context)
        # Links and the site named in the email are the shop's SITE_URL, as in order
        # emails, whatever Host header the request that triggered the email carried.
        ctx["current_site"] = site_url_site()
        for name, value in list(ctx.items()):
            if name.endswith("_url") and isinstance(value, str):
                ctx[name] = site_url_rebase(url=value)
        with translation.override(language), timezone.override(time_zone):
            msg = self.render_mail(template_prefix, email, ctx)
            html = next((content for content, kind in getattr(msg, "alternatives", [])), "")
            text = msg.body if msg.content_subtype != "html" else ""
            if text and not html:
                html = account_email_html(template_prefix=template_prefix, text=text, context=ctx)
            if text:  # the seller's identity closes every customer email, as in order emails
                footer = render_to_string("emails/_identity_footer.txt", ctx)
                text = text.rstrip() + "\n" + footer
        with transaction.atomic():
            outbox_enqueue(
                idempotency_key=f"account:{template_prefix.rsplit('/', 1)[-1]}:{uuid.uuid4().hex}",
                to=msg.to,
                subject=msg.subject,
                text=text,
                html=html or (msg.body if msg.content_subtype == "html" else ""),
                headers=dict(msg.extra_headers),
                hook=OUTBOX_ERASE,
                audience="account",
            )

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return True

    def pre_login(self, request, user, **kwargs):
        if getattr(user, "is_suspended", False):
            messages.error(
                request,
                _(
                    "This account is suspended while a payment dispute is investigated. "
                    "Please contact support."
                ),
            )
            return redirect("account_login")
        if user.is_staff:
            staff_email_trust(user=user)
        return super().pre_login(request, user, **kwargs)


class MFAAdapter(DefaultMFAAdapter):
    """Authenticator apps list the staff member's code under the shop's own name."""

    def get_totp_issuer(self) -> str:
        return shop_identity_get().name or super().get_totp_issuer()
