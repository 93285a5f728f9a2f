"""Operations: a request id on every log line, and no key code or secret in logs or Sentry.

- :class:`RequestIdMiddleware` takes a sane incoming ``X-Request-ID`` (from the reverse
  proxy) or makes one, answers it in the response header and keeps it in a contextvar;
  :class:`RequestIdFilter` puts it on every log record as ``request_id``.
- :func:`text_scrub` removes what must never be written down: license-key-shaped codes,
  Fernet tokens (stored ciphertexts), Stripe keys, ``code=``/``password=``/``token=``
  values, and the literal values of the configured secrets. :class:`RedactingFilter`
  applies it to every log record (message, arguments, exception text, extra fields);
  :func:`sentry_event_scrub` is Sentry's ``before_send``.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from sentry_sdk._types import Event

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+=-]{7,127}$")
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

REDACTED = "[redacted]"
# Field names whose values are never logged or sent (case-insensitive, substring).
SENSITIVE_NAMES = (
    "code",
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "authorization",
    "cookie",
    "sessionid",
    "csrf",
    "ciphertext",
    "dsn",
)
_PATTERNS = [
    # Fernet tokens: every stored code's ciphertext.
    re.compile(r"gAAAAA[A-Za-z0-9_\-]+=*"),
    # Stripe keys and webhook secrets.
    re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]+"),
    re.compile(r"\bwhsec_[A-Za-z0-9]+"),
    # Product keys: 3+ dashed groups of 4-6 capitals/digits (XXXXX-XXXXX-XXXXX-XXXXX-XXXXX).
    re.compile(r"\b[A-Z0-9]{4,6}(?:[-\u2010\u2011\u2013\u2014][A-Z0-9]{4,6}){2,}\b"),
    # Gift codes: 12+ upper-case letters and digits, mixed.
    re.compile(r"\b(?=[A-Z0-9]*[0-9])(?=[A-Z0-9]*[A-Z])[A-Z0-9]{12,}\b"),
]
_NAMED_VALUE = re.compile(
    r"(?i)\b((?:key_|gift_)?codes?|password|passwd|[a-z_]*secret|[a-z_]*token|api_?key"
    r"|authorization|sessionid|csrftoken|ciphertext)"
    r"(\"?\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&\"'}]+)"
)
# Names that contain a sensitive word but hold nothing secret.
_SAFE_NAMES = frozenset({"status_code", "context_line", "pre_context", "post_context"})
# Attributes every LogRecord has; anything else came in through ``extra=``.
_RECORD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_SAFE_EXTRAS = frozenset({"request_id", "taskName"})


# --------------------------------------------------------------------------- request id


def request_id_clean(value: str | None) -> str | None:
    """An incoming request id if it is one we can log safely, else None."""
    if value and _REQUEST_ID_OK.match(value):
        return value
    return None


class RequestIdMiddleware:
    """First in MIDDLEWARE: every log line of a request carries the same id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_clean(request.headers.get(REQUEST_ID_HEADER)) or uuid.uuid4().hex
        # our own attribute (django-stubs does not know it): the id for code holding the request
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id_var.get() or "-"
        return True


# --------------------------------------------------------------------------- redaction


@lru_cache(maxsize=8)
def _literal_secrets(values: tuple[str, ...]) -> re.Pattern | None:
    usable = sorted({v for v in values if v and len(v) >= 8}, key=len, reverse=True)
    if not usable:
        return None
    return re.compile("|".join(re.escape(v) for v in usable))


def _configured_secrets() -> re.Pattern | None:
    if not settings.configured:
        return None
    values = [
        getattr(settings, "SECRET_KEY", ""),
        getattr(settings, "KEY_FINGERPRINT_SECRET", ""),
        getattr(settings, "STRIPE_SECRET_KEY", ""),
        getattr(settings, "STRIPE_WEBHOOK_SECRET", ""),
        getattr(settings, "EMAIL_HOST_PASSWORD", ""),
        getattr(settings, "SENTRY_DSN", ""),
        getattr(settings, "PRIVATE_STORAGE_S3_SECRET_ACCESS_KEY", ""),
        *getattr(settings, "KEY_ENCRYPTION_KEYS", []),
    ]
    return _literal_secrets(tuple(str(v) for v in values if v))


def text_scrub(text: str) -> str:
    """``text`` with every code, ciphertext and secret replaced by ``[redacted]``."""
    if not text:
        return text
    literal = _configured_secrets()
    if literal is not None:
        text = literal.sub(REDACTED, text)
    text = _NAMED_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    for pattern in _PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


def _name_is_sensitive(name: str) -> bool:
    lowered = name.lower()
    if lowered in _SAFE_NAMES:
        return False
    return any(word in lowered for word in SENSITIVE_NAMES)


def value_scrub(value: Any, *, depth: int = 0) -> Any:
    """A copy of ``value`` (dicts, lists, strings) with secrets removed, keys by name."""
    if depth > 20:
        return REDACTED
    if isinstance(value, str):
        return text_scrub(value)
    if isinstance(value, dict):
        return {
            key: (
                REDACTED
                if isinstance(key, str) and _name_is_sensitive(key) and value[key] not in (None, "")
                else value_scrub(value[key], depth=depth + 1)
            )
            for key in value
        }
    if isinstance(value, list | tuple):
        return type(value)(value_scrub(item, depth=depth + 1) for item in value)
    return value


class RedactingFilter(logging.Filter):
    """On the log handlers: a record leaves with no code or secret in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 -- a bad format string still gets logged
            message = str(record.msg)
        record.msg = text_scrub(message)
        record.args = None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = text_scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = text_scrub(record.stack_info)
        for name, value in list(vars(record).items()):
            if name in _RECORD_ATTRS or name in _SAFE_EXTRAS:
                continue
            if _name_is_sensitive(name):
                setattr(record, name, REDACTED)
            elif isinstance(value, dict | list | tuple | str):
                setattr(record, name, value_scrub(value))
            elif not isinstance(value, int | float | bool | type(None)):
                setattr(record, name, text_scrub(str(value)))
        return True


def sentry_event_scrub(event: Event, hint: dict[str, Any] | None = None) -> Event:
    """Sentry's ``before_send``: the event without codes, ciphertexts or secrets (messages,
    exception values, breadcrumbs, request data, local variables: every string in it)."""
    return value_scrub(event)
