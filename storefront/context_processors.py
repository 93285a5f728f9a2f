from django.conf import settings
from django.http import HttpRequest


def shop(request: HttpRequest) -> dict:
    cart = request.session.get("cart", {}) if hasattr(request, "session") else {}
    return {
        "SHOP_NAME": settings.SHOP_NAME,
        "SHOP_SUPPORT_EMAIL": settings.SHOP_SUPPORT_EMAIL,
        # The test payment gateway is on (development, or staging with PAYMENT_GATEWAY=test).
        "TEST_PAYMENTS": settings.PAYMENT_GATEWAY == "test",
        "cart_item_count": sum(int(q) for q in cart.values()) if isinstance(cart, dict) else 0,
    }
