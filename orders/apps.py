from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        # Order emails go through core's outbox: rendered at send time (key codes are
        # never stored), audited by the hook once the SMTP server accepted them.
        from core.outbox import outbox_hook_register, outbox_renderer_register

        from .services import OUTBOX_NAME, order_email_outbox_hook, order_email_render

        outbox_renderer_register(OUTBOX_NAME, order_email_render)
        outbox_hook_register(OUTBOX_NAME, order_email_outbox_hook)

        # The fraud check's process-local copies (orders.selectors) are dropped everywhere
        # on any change of their rows, from the admin, a service or a fixture. Cache
        # invalidation only: no business logic hangs on these receivers.
        from django.db.models.signals import post_delete, post_save

        from core.versioned_cache import versioned_cache_bumper

        from .models import BlocklistEntry, FraudSettings
        from .selectors import BLOCKLIST_CACHE, FRAUD_SETTINGS_CACHE

        for model, name in (
            (FraudSettings, FRAUD_SETTINGS_CACHE),
            (BlocklistEntry, BLOCKLIST_CACHE),
        ):
            receiver = versioned_cache_bumper(name)
            post_save.connect(receiver, sender=model, weak=False, dispatch_uid=f"{name}:save")
            post_delete.connect(receiver, sender=model, weak=False, dispatch_uid=f"{name}:delete")
