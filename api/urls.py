from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("products", views.ProductViewSet, basename="product")
router.register("batches", views.BatchViewSet, basename="batch")
router.register("key-imports", views.ImportJobViewSet, basename="key-import")
router.register("orders", views.OrderViewSet, basename="order")
router.register("refunds", views.RefundViewSet, basename="refund")
router.register("claims", views.ClaimViewSet, basename="claim")

app_name = "api"
urlpatterns = [
    path("v1/openapi.json", SpectacularAPIView.as_view(), name="openapi"),
    path("v1/docs/", SpectacularSwaggerView.as_view(url_name="api:openapi"), name="docs"),
    path("v1/redoc/", SpectacularRedocView.as_view(url_name="api:openapi"), name="redoc"),
    path("v1/", include(router.urls)),
]
