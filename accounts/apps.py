from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Customers and staff")

    def ready(self) -> None:
        from core.outbox import outbox_hook_register

        from .adapter import OUTBOX_ERASE, account_email_outbox_hook

        outbox_hook_register(OUTBOX_ERASE, account_email_outbox_hook)
