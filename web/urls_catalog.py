from django.urls import path

from . import cart_views, views

app_name = "catalog"

urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("products/<slug:slug>/", views.product_detail, name="product_detail"),
    path("products/<slug:slug>/add/", cart_views.cart_add_view, name="cart_add"),
    path("cart/", cart_views.cart_view, name="cart"),
    path("cart/<int:product_id>/update/", cart_views.cart_update_view, name="cart_update"),
    path("cart/<int:product_id>/remove/", cart_views.cart_remove_view, name="cart_remove"),
    path("contact/", views.contact, name="contact"),
    path("healthz", views.healthz, name="healthz"),
    path("language/", views.language_switch, name="language"),
]
