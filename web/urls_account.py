"""My Account (``/account/``), in the "accounts" namespace the templates name."""

from django.urls import path

from . import account_views

app_name = "accounts"

urlpatterns = [
    path("", account_views.dashboard, name="dashboard"),
]
