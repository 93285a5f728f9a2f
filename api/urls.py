from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("products", views.ProductViewSet, basename="product")
router.register("batches", views.BatchViewSet, basename="batch")
router.register("key-imports", views.ImportJobViewSet, basename="key-import")
router.register("orders", views.OrderViewSet, basename="order")
router.register("refunds", views.RefundViewSet, basename="refund")
router.register("claims", views.ClaimViewSet, basename="claim")
router.register("webhook-endpoints", views.WebhookEndpointViewSet, basename="webhook-endpoint")

app_name = "api"
urlpatterns = [
    path("v1/openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    # Swagger UI under the shop's strict CSP: self-hosted assets (sidecar), the init
    # script a separate request, no inline style (api/templates/api/swagger_ui.html).
    path(
        "v1/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api:openapi", template_name="api/swagger_ui.html"
        ),
        name="docs",
    ),
    path("v1/", include(router.urls)),
]
