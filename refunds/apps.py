from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RefundsConfig(AppConfig):
    name = "refunds"
    verbose_name = _("Claims and disputes")

    def ready(self) -> None:
        # Claim emails go through core's outbox (rendered at send time, audited on accept).
        from core.outbox import outbox_hook_register, outbox_renderer_register

        from .notifications import OUTBOX_NAME, claim_email_outbox_hook, claim_email_render

        outbox_renderer_register(OUTBOX_NAME, claim_email_render)
        outbox_hook_register(OUTBOX_NAME, claim_email_outbox_hook)

        # orders' webhook intake hands charge.dispute.* events to refunds, and an order's
        # staff timeline lists its claims (orders.hooks: orders never imports refunds).
        from orders.hooks import dispute_event_handlers, hook_register, order_timeline_sources

        from .selectors import claims_timeline_items
        from .services import dispute_event_handle

        hook_register(registry=dispute_event_handlers, hook=dispute_event_handle)
        hook_register(registry=order_timeline_sources, hook=claims_timeline_items)

        # Pillow refuses decompression bombs above this many pixels (a warning above it, an
        # error above twice it); evidence uploads treat both as a refusal.
        from PIL import Image

        from .evidence import evidence_max_pixels

        limit = evidence_max_pixels()
        if Image.MAX_IMAGE_PIXELS is None or limit < Image.MAX_IMAGE_PIXELS:
            Image.MAX_IMAGE_PIXELS = limit
