"""One error shape for the whole API: ``{"error": {"code", "message", "fields"}}``."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)

API_PATH = "/api/"


class ErrorDetail(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    # A field named "fields": DRF's metaclass takes it off the class, .fields still works.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField())
    )


class Error(serializers.Serializer):
    """The body of every 4xx/5xx answer of the API."""

    error = ErrorDetail()


def error_body(*, code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": str(message), "fields": fields or {}}}


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for name, value in detail.items():
            key = f"{prefix}.{name}" if prefix else str(name)
            out.update(_flatten(value, key))
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            out[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                out.update(_flatten(item, f"{prefix}.{index}" if prefix else str(index)))
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def api_exception_handler(exc, context):
    if isinstance(exc, ValidationError):  # a service's model validation
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:  # an unexpected error: log it, answer the same shape
        logger.exception("API error", exc_info=exc)
        return Response(
            error_body(code="server_error", message=_("Something went wrong on our side.")),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        message = _("The request is not valid; see the fields.")
        code = "invalid"
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        fields = {}
        message = str(detail)
        code = str(getattr(detail, "code", None) or getattr(exc, "default_code", "error"))
    response.data = error_body(code=code, message=message, fields=fields)
    return response


def page_not_found(request, exception=None):
    if request.path_info.startswith(API_PATH):
        return JsonResponse(
            error_body(code="not_found", message=_("No API endpoint here.")), status=404
        )
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path_info.startswith(API_PATH):
        return JsonResponse(
            error_body(code="server_error", message=_("Something went wrong on our side.")),
            status=500,
        )
    return defaults.server_error(request)
