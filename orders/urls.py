from django.urls import path

from . import views

app_name = "orders"

urlpatterns = [
    path("checkout/", views.checkout, name="checkout"),
    path("track/", views.track, name="track"),
    path("webhooks/stripe/", views.stripe_webhook, name="stripe_webhook"),
    path("pay/test/<str:session_id>/", views.test_pay, name="test_pay"),
    path("o/<str:number>/", views.order_detail, name="detail"),
    path("o/<str:number>/return/", views.payment_return, name="payment_return"),
    path("o/<str:number>/resend/", views.order_resend, name="resend"),
    path("o/<str:number>/cancel/", views.order_cancel, name="cancel"),
    path("o/<str:number>/keys/<int:key_id>/reveal/", views.key_reveal, name="key_reveal"),
]
