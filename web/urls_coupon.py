"""The cart's discount code (``/cart/coupon/``): the "pricing" namespace the templates
name, served by ``web.cart_views`` (the views read the cart, which is above pricing)."""

from django.urls import path

from . import cart_views

app_name = "pricing"
urlpatterns = [
    path("apply/", cart_views.coupon_apply_view, name="coupon_apply"),
    path("remove/", cart_views.coupon_remove_view, name="coupon_remove"),
]
