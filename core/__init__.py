"""Keystore's foundation: what every other app may use and which imports no other app.

Money, the notifications outbox, client IP, rate limits, the shop's identity and the
shared helpers live here. ``core`` never imports ``storefront``, ``accounts``, ``keys``,
``orders``, ``refunds`` or ``policies``.
"""
