"""The orders app's session access (which orders this browser may see, and how).

The order tracking page (number + billing email) and the order confirmation page record
``{order_id: channel}`` in the session; guests file and follow claims through it.
"""

from __future__ import annotations

from django.http import HttpRequest

# The session key the orders app writes; read through its constant when it exposes one.
DEFAULT_SESSION_KEY = "orders_access"


def session_key() -> str:
    try:
        from orders import views as order_views
    except ImportError:
        return DEFAULT_SESSION_KEY
    for name in ("SESSION_ACCESS_KEY", "ACCESS_SESSION_KEY", "SESSION_KEY"):
        value = getattr(order_views, name, None)
        if isinstance(value, str):
            return value
    return DEFAULT_SESSION_KEY


def session_access_get(request: HttpRequest) -> dict[str, str]:
    value = request.session.get(session_key(), {})
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}
