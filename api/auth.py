"""DRF plumbing for API keys: authentication, scope permission, per-key rate limit."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

from core.ratelimit import ratelimit_hit

from . import services

RATE_SCOPE = "api-key"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer ks_<prefix>_<secret>``. request.user is the key's service
    user, request.auth the ApiKey."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0] != self.keyword:
            raise exceptions.AuthenticationFailed(
                _("Send the key as 'Authorization: Bearer <key>'.")
            )
        api_key = services.api_key_authenticate(raw=parts[1])
        if api_key is None:
            raise exceptions.AuthenticationFailed(_("Unknown or revoked API key."))
        services.api_key_touch(api_key=api_key)
        return api_key.user, api_key

    def authenticate_header(self, request):
        return self.keyword  # makes DRF answer 401 (with WWW-Authenticate), not 403


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from `manage.py create_api_key` or the admin.",
        }


class HasScopes(permissions.BasePermission):
    """The view's ``required_scopes`` (per action: a dict, else one list for all) must all be
    granted to the key. No key: 401; a key without the scope: 403 naming it."""

    def has_permission(self, request, view):
        api_key = request.auth
        if api_key is None:
            raise exceptions.NotAuthenticated()
        needed = view.required_scopes_get(request)
        missing = [scope for scope in needed if scope not in (api_key.scopes or [])]
        if missing:
            self.message = _("This API key lacks the scope(s): %(scopes)s.") % {
                "scopes": ", ".join(missing)
            }
            return False
        return True


class ApiKeyRateThrottle(throttling.BaseThrottle):
    """A fixed window per key through core.ratelimit: ``API_RATE_LIMIT`` requests per
    ``API_RATE_WINDOW_SECONDS``; over it, 429 with Retry-After (the window's length: an
    upper bound on the wait)."""

    def allow_request(self, request, view):
        api_key = request.auth
        if api_key is None:
            return True
        return ratelimit_hit(
            scope=RATE_SCOPE,
            key=str(api_key.pk),
            limit=settings.API_RATE_LIMIT,
            window_seconds=settings.API_RATE_WINDOW_SECONDS,
        )

    def wait(self):
        return settings.API_RATE_WINDOW_SECONDS
