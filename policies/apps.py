from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "policies"

    def ready(self) -> None:
        from core.identity import shop_identity_changed_handler_register

        from .services import documents_republish_for_contact

        # Policy pages quote the shop's support contact: republish them when it changes.
        shop_identity_changed_handler_register(documents_republish_for_contact)
