from django.urls import path

from . import views

app_name = "refunds"

urlpatterns = [
    path("", views.claim_list, name="list"),
    path("new/<str:number>/", views.claim_new, name="new"),
    path("evidence/<int:evidence_id>/", views.evidence_view, name="evidence"),
    path("<str:number>/", views.claim_detail, name="detail"),
]
