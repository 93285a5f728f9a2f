from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path, re_path

from core.health import ReadinessView
from web import brand_views
from web import views as web_views
from web.admin_dashboard import admin_index_with_dashboard
from web.sitemaps import SITEMAPS

# The admin login goes through allauth: same rate limits, email verification and MFA.
admin.autodiscover()
# (wrapping the site's bound views in place: mypy forbids assigning to a method)
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.index = admin_index_with_dashboard(admin.site.index)  # type: ignore[method-assign]
admin.site.site_header = "Keystore staff"
admin.site.site_title = "Keystore staff"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("readyz", ReadinessView.as_view(), name="readyz"),
    path("sitemap.xml", sitemap, {"sitemaps": SITEMAPS}, name="sitemap"),
    path("robots.txt", web_views.robots_txt, name="robots_txt"),
    path("brand.css", brand_views.brand_css, name="brand_css"),
    *(
        path(f"brand/logo.{extension}", brand_views.brand_logo, {"extension": extension})
        for extension in brand_views.LOGO_TYPES
    ),
    *(path(name, web_views.root_icon, {"name": name}) for name in web_views.ROOT_ICONS),
    path("accounts/", include("allauth.urls")),
    path("api/", include("api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("account/", include("web.urls_account")),
    path("keys/", include("keys.urls")),
    path("orders/", include("orders.urls")),
    path("orders/", include("invoices.urls")),
    path("claims/", include("refunds.urls")),
    path("policies/", include("policies.urls")),
    path("cart/coupon/", include("web.urls_coupon")),
    path("", include("web.urls_catalog")),
]

# Product images (the public `default` storage under MEDIA_URL): in production nginx
# serves MEDIA_ROOT itself (deploy/nginx/keystore.conf); elsewhere Django does.
if not settings.PRODUCTION and settings.MEDIA_URL.startswith("/"):
    urlpatterns.append(
        re_path(
            rf"^{settings.MEDIA_URL.strip('/')}/(?P<path>.*)$",
            web_views.media_file,
            name="media",
        )
    )

# Under /api/ errors are JSON in the API's shape; elsewhere Django's pages.
handler404 = "api.errors.page_not_found"
handler500 = "api.errors.server_error"
