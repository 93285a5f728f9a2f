from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    """Suspended accounts cannot sign in; staff made by the operator need no email
    confirmation (their second factor is mandatory instead); everything else is allauth's
    default."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return True

    def pre_login(self, request, user, **kwargs):
        if getattr(user, "is_suspended", False):
            from django.contrib import messages
            from django.shortcuts import redirect
            from django.utils.translation import gettext as _

            messages.error(
                request,
                _(
                    "This account is suspended while a payment dispute is investigated. "
                    "Please contact support."
                ),
            )
            return redirect("account_login")
        if user.is_staff:
            from .services import staff_email_trust

            staff_email_trust(user=user)
        return super().pre_login(request, user, **kwargs)


class MFAAdapter(DefaultMFAAdapter):
    """Authenticator apps list the staff member's code under the shop's own name."""

    def get_totp_issuer(self) -> str:
        from core.identity import shop_identity_get

        return shop_identity_get().name or super().get_totp_issuer()
