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
        from orders import hooks as order_hooks
        from orders.selectors import TimelineItem

        from .models import Claim
        from .services import DisputeOrderUnknown, dispute_event_handle

        def dispute_event_for_orders(*, event: dict) -> object:
            try:
                return dispute_event_handle(event=event)
            except DisputeOrderUnknown as exc:  # the type orders' intake waits on
                if isinstance(exc, order_hooks.DisputeOrderUnknown):
                    raise
                raise order_hooks.DisputeOrderUnknown(str(exc), order=exc.order) from exc

        def claims_timeline(*, order) -> list[TimelineItem]:
            items = []
            for c in Claim.objects.filter(order=order):
                text = f"{c.number} · {c.reason} · {c.status}" + (
                    f" · {c.remedy}" if c.remedy else ""
                )
                items.append(TimelineItem(c.created_at, "claim", text))
            return items

        order_hooks.hook_register(
            registry=order_hooks.dispute_event_handlers, hook=dispute_event_for_orders
        )
        order_hooks.hook_register(registry=order_hooks.order_timeline_sources, hook=claims_timeline)

        # Pillow refuses decompression bombs above this many pixels (a warning above it, an
        # error above twice it); evidence uploads treat both as a refusal.
        from PIL import Image

        from .evidence import evidence_max_pixels

        limit = evidence_max_pixels()
        if Image.MAX_IMAGE_PIXELS is None or limit < Image.MAX_IMAGE_PIXELS:
            Image.MAX_IMAGE_PIXELS = limit
