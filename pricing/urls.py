from django.urls import path

from . import views

app_name = "pricing"
urlpatterns = [
    path("apply/", views.coupon_apply_view, name="coupon_apply"),
    path("remove/", views.coupon_remove_view, name="coupon_remove"),
]
