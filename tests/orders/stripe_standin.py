"""A local stand-in for the few Stripe API endpoints the shop calls.

The real ``stripe`` library talks to it over HTTP (``settings.STRIPE_API_BASE``), so the
requests it sends (form-encoded params, the Idempotency-Key header, retries) are the
real ones. It implements:

- ``POST /v1/checkout/sessions``            create a Checkout Session
- ``GET  /v1/checkout/sessions/<id>``       retrieve it (``expand[]=payment_intent.latest_charge``)
- ``POST /v1/refunds``                      create a refund

and honours idempotency keys like Stripe: the same key returns the first answer. It
records every request (method, path, params, Idempotency-Key) and can answer the next
request too late once (``timeout_next``), after doing the work, as a lost response would.

It also plays Stripe's hosted Checkout page for a browser: ``GET /pay/<session>`` shows
a Pay button; pressing it marks the session paid, delivers a signed
``checkout.session.completed`` event to ``webhook_url`` (when set; Stripe's scheme:
``Stripe-Signature: t=<ts>,v1=HMAC-SHA256(webhook_secret, "<ts>.<payload>")``) and sends
the browser back to the session's ``success_url``.
Used by the tests, the production smoke test and ``bench/delivery.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.error import HTTPError
from urllib.parse import parse_qsl, urlsplit
from urllib.request import Request, urlopen


@dataclass
class Recorded:
    method: str
    path: str
    params: dict
    idempotency_key: str


def _nest(pairs: list[tuple[str, str]]) -> dict:
    """Turn Stripe's form encoding (a[b][0][c]=v) back into nested dicts and lists."""
    root: dict = {}
    for raw_key, value in pairs:
        parts = raw_key.replace("]", "").split("[")
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if last:
                if part == "":
                    node.setdefault("__list__", []).append(value)
                else:
                    node[part] = value
            else:
                node = node.setdefault(part, {})

    def lists(node):
        if isinstance(node, dict):
            if "__list__" in node:
                return node["__list__"]
            if node and all(k.isdigit() for k in node):
                return [lists(node[k]) for k in sorted(node, key=int)]
            return {k: lists(v) for k, v in node.items()}
        return node

    return lists(root)


@dataclass
class Delivery:
    event_id: str
    type: str
    object_id: str
    status: int
    body: str


@dataclass
class StripeStandIn:
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[Recorded] = field(default_factory=list)
    sessions: dict[str, dict] = field(default_factory=dict)
    refunds: dict[str, dict] = field(default_factory=dict)
    timeout_next: float = 0.0  # seconds to stall the next answer (after doing the work)
    # Where paid sessions are announced (the shop's webhook endpoint), signed with the secret.
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_ssl_context: ssl.SSLContext | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    _idempotent: dict[str, tuple[int, dict]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- lifecycle ---
    def start(self) -> StripeStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.send_header("Request-Id", f"req_{uuid.uuid4().hex[:14]}")
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _handle(self, method: str) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                pairs = parse_qsl(body if method == "POST" else url.query, keep_blank_values=True)
                params = _nest(pairs)
                key = self.headers.get("Idempotency-Key", "")
                status, answer, stall = standin.handle(method, url.path, params, key)
                if stall:  # the behaviour under test: a slow Stripe (not synchronisation)
                    time.sleep(stall)
                self._answer(status, answer)

            def _page(self, method: str) -> bool:
                """Stripe's hosted payment page, for a browser (not part of the API)."""
                path = urlsplit(self.path).path
                if not path.startswith("/pay/"):
                    return False
                session_id = path.rsplit("/", 1)[-1]
                if session_id not in standin.sessions:
                    self._answer(404, _error("No such checkout.session", "resource_missing"))
                    return True
                if method == "GET":
                    data = standin.page_html(session_id).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return True
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                location = standin.page_pay(session_id)
                self.send_response(303)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return True

            def do_GET(self):
                if not self._page("GET"):
                    self._handle("GET")

            def do_POST(self):
                if not self._page("POST"):
                    self._handle("POST")

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- behaviour ---
    def handle(self, method: str, path: str, params: dict, key: str):
        with self._lock:
            self.requests.append(Recorded(method, path, params, key))
            stall, self.timeout_next = self.timeout_next, 0.0
            if method == "POST" and key and (method, path, key) in self._idempotent:
                status, answer = self._idempotent[(method, path, key)]
                return status, answer, stall
            status, answer = self._route(method, path, params)
            if method == "POST" and key:
                self._idempotent[(method, path, key)] = (status, answer)
            return status, answer, stall

    def _route(self, method: str, path: str, params: dict) -> tuple[int, dict]:
        if method == "POST" and path == "/v1/checkout/sessions":
            return 200, self._session_create(params)
        if method == "GET" and path.startswith("/v1/checkout/sessions/"):
            session = self.sessions.get(path.rsplit("/", 1)[-1])
            if session is None:
                return 404, _error("No such checkout.session", "resource_missing")
            return 200, self._session_view(session, expand=params.get("expand") or [])
        if method == "POST" and path == "/v1/refunds":
            return 200, self._refund_create(params)
        if method == "POST" and path.startswith("/_standin/pay/"):
            # Not Stripe: lets another process play "the customer paid on Stripe's page".
            session_id = path.rsplit("/", 1)[-1]
            if session_id not in self.sessions:
                return 404, _error("No such checkout.session", "resource_missing")
            return 200, self._session_pay_locked(
                session_id,
                risk_level=params.get("risk_level", "normal"),
                fingerprint=params.get("fingerprint", "fp_test_card"),
                card_country=params.get("card_country", ""),
            )
        return 404, _error(f"Unrecognized request URL ({method}: {path})", "url_invalid")

    def _session_create(self, params: dict) -> dict:
        session_id = f"cs_test_{uuid.uuid4().hex}"
        items = params.get("line_items") or []
        amount = sum(
            int(item["price_data"]["unit_amount"]) * int(item.get("quantity", 1)) for item in items
        )
        session = {
            "id": session_id,
            "object": "checkout.session",
            "url": f"{self.url}/pay/{session_id}",
            "mode": params.get("mode"),
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": amount,
            "currency": (items[0]["price_data"]["currency"] if items else "eur"),
            "customer_email": params.get("customer_email"),
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata") or {},
            "payment_intent": None,
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "line_items_sent": items,
        }
        self.sessions[session_id] = session
        return session

    def session_pay(
        self,
        session_id: str,
        *,
        risk_level: str = "normal",
        fingerprint: str = "fp_test_card",
        card_country: str = "",
    ) -> dict:
        """What Stripe does when the customer pays on the hosted page."""
        with self._lock:
            return self._session_pay_locked(
                session_id, risk_level=risk_level, fingerprint=fingerprint,
                card_country=card_country,
            )  # fmt: skip

    def page_html(self, session_id: str) -> str:
        session = self.sessions[session_id]
        amount = f"{session['amount_total'] / 100:.2f} {session['currency'].upper()}"
        return (
            "<!doctype html><html><head><title>Stripe stand-in checkout</title></head><body>"
            f"<h1>Pay {html.escape(amount)}</h1><p>{html.escape(session['customer_email'] or '')}</p>"
            f'<form method="post" action="/pay/{html.escape(session_id)}">'
            '<button type="submit">Pay</button></form></body></html>'
        )

    def page_pay(self, session_id: str) -> str:
        """The customer paid on the hosted page: announce it, then send them back."""
        session = self.session_pay(session_id)
        if self.webhook_url:
            self.event_deliver(type="checkout.session.completed", obj=session)
        return (session["success_url"] or "/").replace("{CHECKOUT_SESSION_ID}", session_id)

    def event_deliver(self, *, type: str, obj: dict) -> Delivery:
        """POST a signed event to ``webhook_url`` as Stripe does, and record the answer."""
        event_id = f"evt_{uuid.uuid4().hex[:24]}"
        payload = json.dumps(
            {
                "id": event_id,
                "object": "event",
                "type": type,
                "created": int(time.time()),
                "livemode": False,
                "data": {"object": obj},
            }
        )
        timestamp = int(time.time())
        signed = hmac.new(
            self.webhook_secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256
        ).hexdigest()
        request = Request(
            self.webhook_url,
            data=payload.encode(),
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": f"t={timestamp},v1={signed}",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            },
        )
        try:
            with urlopen(request, timeout=30, context=self.webhook_ssl_context) as answer:
                status, body = answer.status, answer.read().decode(errors="replace")
        except HTTPError as exc:
            status, body = exc.code, exc.read().decode(errors="replace")
        delivery = Delivery(
            event_id=event_id,
            type=type,
            object_id=obj.get("id", ""),
            status=status,
            body=body[:500],
        )
        with self._lock:
            self.deliveries.append(delivery)
        return delivery

    def _session_pay_locked(
        self, session_id: str, *, risk_level: str, fingerprint: str, card_country: str = ""
    ) -> dict:
        session = self.sessions[session_id]
        intent_id = f"pi_{uuid.uuid4().hex[:24]}"
        session.update(status="complete", payment_status="paid", payment_intent=intent_id)
        card = {"fingerprint": fingerprint}
        if card_country:  # Stripe: payment_method_details.card.country, the issuing country
            card["country"] = card_country
        session["_charge"] = {
            "id": f"ch_{uuid.uuid4().hex[:24]}",
            "object": "charge",
            "outcome": {"risk_level": risk_level, "type": "authorized"},
            "payment_method_details": {"card": card},
        }
        return self._session_view(session, expand=[])

    def _session_view(self, session: dict, *, expand: list) -> dict:
        view = {k: v for k, v in session.items() if not k.startswith("_")}
        if "payment_intent.latest_charge" in expand and session.get("payment_intent"):
            view["payment_intent"] = {
                "id": session["payment_intent"],
                "object": "payment_intent",
                "amount": session["amount_total"],
                "currency": session["currency"],
                "latest_charge": session.get("_charge"),
            }
        return view

    def _refund_create(self, params: dict) -> dict:
        refund = {
            "id": f"re_{uuid.uuid4().hex[:24]}",
            "object": "refund",
            "amount": int(params.get("amount") or 0),
            "payment_intent": params.get("payment_intent"),
            "metadata": params.get("metadata") or {},
            "status": "succeeded",
        }
        self.refunds[refund["id"]] = refund
        return refund

    def calls(self, method: str, path_prefix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]


def _error(message: str, code: str) -> dict:
    return {"error": {"type": "invalid_request_error", "message": message, "code": code}}


if __name__ == "__main__":  # serve it on its own: python tests/orders/stripe_standin.py PORT
    import sys

    server = StripeStandIn(port=int(sys.argv[1]) if len(sys.argv) > 1 else 0).start()
    print(server.url, flush=True)
    threading.Event().wait()
