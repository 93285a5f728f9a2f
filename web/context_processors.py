from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

from core.identity import Identity, shop_identity_get

from .brand_views import brand_css_url, shop_logo_url


@lru_cache(maxsize=16)
def _brand_urls(identity: Identity) -> tuple[str, str]:
    """The logo's and the brand stylesheet's addresses, computed once per identity (an
    identity is a frozen dataclass: a changed logo or colour is a new key)."""
    return shop_logo_url(identity=identity), brand_css_url(identity=identity)


def shop(request: HttpRequest) -> dict:
    cart = request.session.get("cart", {}) if hasattr(request, "session") else {}
    identity = shop_identity_get()
    logo_url, css_url = _brand_urls(identity)
    return {
        "SHOP_NAME": identity.name,
        "SHOP_SUPPORT_EMAIL": identity.support_email,
        "SHOP_IDENTITY": identity,
        "SHOP_LOGO_URL": logo_url,
        "BRAND_CSS_URL": css_url,
        # The test payment gateway is on (development, or staging with PAYMENT_GATEWAY=test).
        "TEST_PAYMENTS": settings.PAYMENT_GATEWAY == "test",
        "cart_item_count": sum(int(q) for q in cart.values()) if isinstance(cart, dict) else 0,
    }
