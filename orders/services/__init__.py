"""Order writes, one module per concern; this package re-exports the public API so
``from orders.services import x`` keeps working.

Rules kept everywhere:
- status changes go through ``order_transition`` (allowed moves + an OrderEvent row);
- rows are locked in one order: order -> line -> key (keys are locked by ``keys``);
- the gateway (Stripe) is never called inside a database transaction;
- tasks are enqueued on commit; every service can run twice and leave the same state.
"""

from .cancellation import (
    order_cancel,
    order_cancel_request,
)
from .checkout import (
    CHECKOUT_CLOSED_ALERT_KEY,
    CHECKOUT_CLOSED_MESSAGE,
    ConsentGiven,
    checkout_closed_report,
    order_checkout_start,
    order_create_from_cart,
)
from .delivery import (
    DeliveryOutcome,
    order_deliver,
)
from .emails import (
    EMAIL_TEMPLATES,
    OUTBOX_NAME,
    order_email_outbox_hook,
    order_email_render,
    order_email_resend,
    order_email_send,
)
from .errors import (
    CancellationRefused,
    CheckoutError,
    OrderError,
    OrderTransitionError,
    RateLimited,
)
from .exchange import (
    order_line_add_for_exchange,
)
from .fraud import (
    blocklist_add,
    order_hold_release,
)
from .payment import (
    PaidNow,
    PaymentConfirmation,
    TestPaymentResult,
    deliveries_inline,
    order_card_country_record,
    order_payment_confirm,
    order_payment_sync,
    payment_test_card_submit,
)
from .refunds import (
    EXTERNAL_REFUND_REASON,
    order_refund,
    refund_gateway_update,
)
from .sweepers import (
    SweepResult,
    orders_alert_stale_holds,
    orders_refund_overdue_backorders,
    orders_sweep_undelivered,
)
from .tracking import (
    order_track_lookup,
)
from .transitions import (
    CANCELLABLE_STATES,
    ORDER_WEBHOOK_EVENTS,
    PAID_STATES,
    UNPAID_STATES,
    order_event_add,
    order_event_build,
    order_transition,
    order_webhook_emit,
    order_webhook_payload,
)
from .webhook import (
    FINAL_EVENT_STATES,
    MALFORMED_BODY_KEPT_CHARS,
    EventNotReady,
    WebhookMalformed,
    WebhookRejected,
    stripe_webhook_receive,
    webhook_event_enqueue,
    webhook_event_process,
    webhook_event_replay,
    webhook_events_replay_deferred,
)

__all__ = [
    "CANCELLABLE_STATES",
    "CHECKOUT_CLOSED_ALERT_KEY",
    "CHECKOUT_CLOSED_MESSAGE",
    "CancellationRefused",
    "CheckoutError",
    "ConsentGiven",
    "DeliveryOutcome",
    "EMAIL_TEMPLATES",
    "EXTERNAL_REFUND_REASON",
    "EventNotReady",
    "FINAL_EVENT_STATES",
    "MALFORMED_BODY_KEPT_CHARS",
    "ORDER_WEBHOOK_EVENTS",
    "OUTBOX_NAME",
    "OrderError",
    "OrderTransitionError",
    "PAID_STATES",
    "PaidNow",
    "PaymentConfirmation",
    "RateLimited",
    "SweepResult",
    "TestPaymentResult",
    "UNPAID_STATES",
    "WebhookMalformed",
    "WebhookRejected",
    "blocklist_add",
    "checkout_closed_report",
    "deliveries_inline",
    "order_cancel",
    "order_cancel_request",
    "order_card_country_record",
    "order_checkout_start",
    "order_create_from_cart",
    "order_deliver",
    "order_email_outbox_hook",
    "order_email_render",
    "order_email_resend",
    "order_email_send",
    "order_event_add",
    "order_event_build",
    "order_hold_release",
    "order_line_add_for_exchange",
    "order_payment_confirm",
    "order_payment_sync",
    "order_refund",
    "order_track_lookup",
    "order_transition",
    "order_webhook_emit",
    "order_webhook_payload",
    "orders_alert_stale_holds",
    "orders_refund_overdue_backorders",
    "orders_sweep_undelivered",
    "payment_test_card_submit",
    "refund_gateway_update",
    "stripe_webhook_receive",
    "webhook_event_enqueue",
    "webhook_event_process",
    "webhook_event_replay",
    "webhook_events_replay_deferred",
]
