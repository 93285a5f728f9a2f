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
