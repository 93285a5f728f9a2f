"""A JSON parser that reads at most ``API_MAX_BODY_BYTES``: DRF reads the request stream
itself, past Django's DATA_UPLOAD_MAX_MEMORY_SIZE, so the API bounds what it holds."""

from __future__ import annotations

import io

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is too large.")
    default_code = "too_large"


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_BODY_BYTES
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise RequestTooLarge(
                _("The request body is larger than %(limit)d bytes; split the import.")
                % {"limit": limit}
            )
        return super().parse(io.BytesIO(body), media_type, parser_context)
