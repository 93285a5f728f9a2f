from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Customers and staff")

    def ready(self) -> None:
        from core.outbox import outbox_hook_register

        from .adapter import OUTBOX_ERASE, account_email_outbox_hook

        outbox_hook_register(OUTBOX_ERASE, account_email_outbox_hook)

        from allauth.mfa.signals import authenticator_added

        authenticator_added.connect(
            _record_enrolment_as_mfa, dispatch_uid="accounts.enrolment_is_mfa"
        )


def _record_enrolment_as_mfa(sender, request, user, authenticator, **kwargs) -> None:
    """Activating TOTP means typing a valid code: the session has passed the second
    factor, exactly as allauth records it after the MFA stage of a login."""
    # deferred: allauth's login flow imports its models, which cannot load while the
    # app registry imports this module (before any model exists)
    from allauth.account.internal.flows.login import record_authentication

    if request is not None and getattr(request, "user", None) == user:
        record_authentication(
            request, user, "mfa", id=authenticator.pk, type=authenticator.type, enrolled=True
        )
