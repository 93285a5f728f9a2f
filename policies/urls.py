from django.urls import path, re_path

from . import views

app_name = "policies"

KINDS = "refund|delivery|warranty|terms|privacy"

urlpatterns = [
    path("", views.index, name="index"),
    re_path(rf"^(?P<kind>{KINDS})/$", views.document, name="document"),
    re_path(rf"^(?P<kind>{KINDS})/history/$", views.history, name="history"),
]
