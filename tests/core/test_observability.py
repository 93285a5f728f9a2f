"""Operations: request ids on every log line, no codes or secrets in logs or Sentry, JSON
logs, CSP and HSTS in production."""

import io
import json
import logging
import subprocess
import sys

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from pythonjsonlogger.json import JsonFormatter

from core.observability import (
    RedactingFilter,
    RequestIdFilter,
    RequestIdMiddleware,
    sentry_event_scrub,
    text_scrub,
)
from tests.core.test_fail_closed import ROOT, production_env

CODE = "BCDFG-HJKMP-QRTVW-XY234-6789B"
GIFT = "ABCD2345EFGH6789"
FERNET_TOKEN = "gAAAAABnZx3kq9s8mVxL0aBcD_eFgHiJkLmNoPqRsTuVwXyZ0123456789abcdEFGH=="


@pytest.fixture
def json_logger():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(request_id)s %(message)s"))
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tests.observability")
    logger.addHandler(handler)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


def lines(stream) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_every_log_line_of_a_request_carries_its_request_id(json_logger):
    logger, stream = json_logger

    def view(request):
        logger.info("paid order %s", "KS-1001")
        return HttpResponse("ok")

    middleware = RequestIdMiddleware(view)
    response = middleware(RequestFactory().get("/", HTTP_X_REQUEST_ID="proxy-req-0123456789"))
    assert response["X-Request-ID"] == "proxy-req-0123456789"
    made = middleware(RequestFactory().get("/"))["X-Request-ID"]
    logger.info("outside any request")
    records = lines(stream)
    assert [r["request_id"] for r in records] == ["proxy-req-0123456789", made, "-"]
    assert len(made) == 32 and made != "proxy-req-0123456789"


@pytest.mark.parametrize(
    "incoming", ["short", "has spaces in it 12345", "x" * 300, "evil\r\nSet-Cookie: a=b"]
)
def test_an_unsafe_incoming_request_id_is_replaced(incoming):
    middleware = RequestIdMiddleware(lambda request: HttpResponse("ok"))
    request = RequestFactory().get("/")
    request.META["HTTP_X_REQUEST_ID"] = incoming
    answered = middleware(request)["X-Request-ID"]
    assert answered != incoming and len(answered) == 32


def test_log_records_with_codes_or_secrets_are_scrubbed(json_logger, settings):
    logger, stream = json_logger
    settings.STRIPE_SECRET_KEY = "rk_live_abcdefghijklmnop"
    settings.KEY_FINGERPRINT_SECRET = "Qm3t7VbX0pLk9sWz2RcHy5NfJd8GaE1u4iOq6TeYr"
    logger.warning("delivered %s and %s to alice", CODE, GIFT)
    logger.warning("stored %s", FERNET_TOKEN)
    logger.warning("stripe said: invalid key rk_live_abcdefghijklmnop; whsec_abc123XYZ")
    logger.warning("fingerprint secret is %s", settings.KEY_FINGERPRINT_SECRET)
    logger.warning("form data password=hunter2hunter2&email=a@example.com code='x-1'")
    logger.warning("reveal", extra={"code": CODE, "note": f"for {CODE}", "key_id": 7})
    try:
        raise ValueError(f"cannot import {CODE}")
    except ValueError:
        logger.exception("import failed")
    output = stream.getvalue()
    for secret in (
        CODE,
        GIFT,
        FERNET_TOKEN,
        "rk_live_abcdefghijklmnop",
        "whsec_abc123XYZ",
        settings.KEY_FINGERPRINT_SECRET,
        "hunter2",
        "x-1",
    ):
        assert secret not in output, secret
    records = lines(stream)
    assert records[0]["message"] == "delivered [redacted] and [redacted] to alice"
    assert records[5]["code"] == "[redacted]" and records[5]["key_id"] == 7
    assert "a@example.com" in records[4]["message"]  # only the secrets go
    assert "import failed" in records[6]["message"] and "ValueError" in records[6]["exc_info"]


def test_scrubbing_keeps_ordinary_text():
    text = "Order KS-2026-0042 paid 29.90 EUR by card; status_code=200; request 3f2a9c"
    assert text_scrub(text) == text


def test_sentry_events_are_scrubbed_of_codes_and_secrets(settings):
    event = {
        "message": f"key {CODE} failed",
        "exception": {
            "values": [
                {
                    "type": "KeyDecryptionError",
                    "value": f"token {FERNET_TOKEN}",
                    "stacktrace": {
                        "frames": [
                            {
                                "function": "key_reveal",
                                "context_line": "    code = code_decrypt(token)",
                                "vars": {"code": f"'{CODE}'", "pk": "7", "token": "'gAAAA'"},
                            }
                        ]
                    },
                }
            ]
        },
        "request": {
            "url": "https://shop.example.com/orders/KS-1/",
            "cookies": {"sessionid": "abc"},
            "headers": {"Cookie": "sessionid=abc", "User-Agent": "Firefox"},
            "data": {"code": GIFT, "email": "a@example.com"},
        },
        "breadcrumbs": {"values": [{"message": f"SELECT ... WHERE fingerprint <> '{GIFT}'"}]},
        "contexts": {"response": {"status_code": 500}},
    }
    scrubbed = json.dumps(sentry_event_scrub(event, {}))
    for secret in (CODE, GIFT, FERNET_TOKEN, "sessionid=abc"):
        assert secret not in scrubbed, secret
    assert "key_reveal" in scrubbed and "Firefox" in scrubbed and "a@example.com" in scrubbed
    assert sentry_event_scrub(event, {})["contexts"]["response"]["status_code"] == 500


def test_sentry_receives_scrubbed_events_without_personal_data(settings):
    """The real sentry-sdk, configured the way settings.py does, with a transport that keeps
    what would have been sent."""
    import sentry_sdk
    from sentry_sdk.transport import Transport

    sent = []

    class Keep(Transport):
        def capture_envelope(self, envelope):
            sent.append(envelope)

    sentry_sdk.init(
        dsn="https://public@sentry.invalid/1",
        transport=Keep,
        data_collection={"user_info": False, "http_bodies": [], "stack_frame_variables": False},
        before_send=sentry_event_scrub,
    )
    try:
        try:
            code = CODE  # noqa: F841 -- a local Sentry would capture
            raise RuntimeError(f"delivery of {CODE} failed")
        except RuntimeError as error:
            sentry_sdk.capture_exception(error)
        sentry_sdk.flush()
    finally:
        sentry_sdk.init()  # no DSN: back to a client that sends nothing
    assert sent
    body = b"".join(item.get_bytes() for envelope in sent for item in envelope.items)
    assert CODE.encode() not in body and b"delivery of [redacted] failed" in body


def test_production_logs_json_to_stdout_and_sends_csp_and_hsts(tmp_path):
    script = (
        "import json, logging; from django.test import Client;"
        "logging.getLogger('keys').warning('revealed %s', 'BCDFG-HJKMP-QRTVW-XY234-6789B');"
        "r = Client().get('/healthz', secure=True, HTTP_HOST='shop.example.com');"
        "print(json.dumps({k: r[k] for k in ('Strict-Transport-Security',"
        " 'Content-Security-Policy', 'X-Request-ID')}))"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    log, headers = records[0], records[-1]
    assert log["level"] == "WARNING" and log["logger"] == "keys"
    assert log["message"] == "revealed [redacted]" and log["request_id"] == "-"
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and len(headers["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_pages_carry_a_strict_content_security_policy(client, product):
    response = client.get(product.get_absolute_url())
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
