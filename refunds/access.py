"""The orders app's session access (which orders this browser may see, and how).

The order tracking page (number + billing email) and the order confirmation page record
``{order_id: channel}`` in the session; guests file and follow claims through it.
"""

from __future__ import annotations

from django.http import HttpRequest

from orders.views import SESSION_KEY  # where the tracking page records access


def session_access_get(request: HttpRequest) -> dict[str, str]:
    value = request.session.get(SESSION_KEY, {})
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}
