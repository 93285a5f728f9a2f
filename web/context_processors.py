from django.conf import settings
from django.http import HttpRequest

from core.identity import shop_identity_get

from .brand_views import brand_css_url, shop_logo_url


def shop(request: HttpRequest) -> dict:
    cart = request.session.get("cart", {}) if hasattr(request, "session") else {}
    identity = shop_identity_get()
    return {
        "SHOP_NAME": identity.name,
        "SHOP_SUPPORT_EMAIL": identity.support_email,
        "SHOP_IDENTITY": identity,
        "SHOP_LOGO_URL": shop_logo_url(identity=identity),
        "BRAND_CSS_URL": brand_css_url(identity=identity),
        # The test payment gateway is on (development, or staging with PAYMENT_GATEWAY=test).
        "TEST_PAYMENTS": settings.PAYMENT_GATEWAY == "test",
        "cart_item_count": sum(int(q) for q in cart.values()) if isinstance(cart, dict) else 0,
    }
