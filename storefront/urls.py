from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from core.health import ReadinessView

# The admin login goes through allauth: same rate limits, email verification and MFA.
admin.autodiscover()
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = "Keystore staff"
admin.site.site_title = "Keystore staff"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("readyz", ReadinessView.as_view(), name="readyz"),
    path("accounts/", include("allauth.urls")),
    path("api/", include("api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("account/", include("accounts.urls")),
    path("keys/", include("keys.urls")),
    path("orders/", include("orders.urls")),
    path("claims/", include("refunds.urls")),
    path("policies/", include("policies.urls")),
    path("", include("storefront.urls_catalog")),
]

# Under /api/ errors are JSON in the API's shape; elsewhere Django's pages.
handler404 = "api.errors.page_not_found"
handler500 = "api.errors.server_error"
