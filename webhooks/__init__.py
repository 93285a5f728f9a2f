"""Outgoing webhooks: signed event deliveries to the merchant's own endpoints.

Depends only on ``core``. The apps where something happens (orders, keys, refunds) call
:func:`webhooks.services.webhook_event_emit` inside their transaction.
"""
