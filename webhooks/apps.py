from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Outgoing webhooks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The active endpoints' process-local copy (services.webhook_endpoints_subscribed)
        # is dropped everywhere on any change of an endpoint row. Cache invalidation only.
        from django.db.models.signals import post_delete, post_save

        from core.versioned_cache import versioned_cache_bumper

        from .models import WebhookEndpoint
        from .services import ENDPOINTS_ACTIVE_CACHE

        receiver = versioned_cache_bumper(ENDPOINTS_ACTIVE_CACHE)
        for signal, uid in ((post_save, "save"), (post_delete, "delete")):
            signal.connect(
                receiver, sender=WebhookEndpoint, weak=False, dispatch_uid=f"endpoints:{uid}"
            )

        from .services import WEBHOOK_DELIVERY_SEND_TASK
        from .tasks import webhook_delivery_send_task

        WEBHOOK_DELIVERY_SEND_TASK.task_register(task=webhook_delivery_send_task)
