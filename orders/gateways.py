"""Payment gateways behind one interface: Stripe Checkout and a local test gateway.

A gateway never touches the database: services call it outside any transaction and
record what it answered. Every call that creates something at the gateway carries an
idempotency key derived from our own ids, so a retry never charges or refunds twice.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import quote

from django.conf import settings
from django.urls import reverse

from core.money import money_format, money_to_minor_units

from .conf import orders_setting


class GatewayError(Exception):
    """The gateway could not be reached or refused the call; safe to retry later."""


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str


@dataclass(frozen=True)
class PaymentState:
    """What the gateway says about a checkout session's payment."""

    session_id: str
    paid: bool
    amount_minor: int
    currency: str
    payment_id: str
    order_id: str = ""
    risk_level: str = ""
    card_fingerprint: str = ""
    card_country: str = ""  # ISO alpha-2 of the card's issuing country, "" when unknown


@dataclass(frozen=True)
class RiskFacts:
    risk_level: str
    card_fingerprint: str
    card_country: str = ""


@dataclass(frozen=True)
class GatewayRefund:
    id: str
    status: str  # pending | succeeded | failed | canceled


class Gateway(Protocol):
    name: str

    def session_create(
        self, *, order: Any, success_url: str, cancel_url: str
    ) -> CheckoutSession: ...

    def session_retrieve(self, *, session_id: str) -> PaymentState: ...

    def risk_get(self, *, order: Any) -> RiskFacts | None: ...

    def refund_create(
        self, *, order: Any, amount: Decimal, idempotency_key: str, refund_id: int
    ) -> GatewayRefund: ...


_stripe_local = threading.local()


def _stripe_client(api_key: str, api_base: str, timeout: int):
    """One client (and kept-alive connection) per configuration and thread.

    Its ``requests`` session does not read the environment on every call (``trust_env``:
    proxy variables, ``.netrc``): the proxies the environment names for the API are read
    once, when the client is made, and the library already passes its own CA bundle. On
    every call that reading took about a third of the risk lookup's CPU (os.environ
    scanned twice per request)."""
    import requests  # deferred: loaded with the Stripe SDK, by the Stripe gateway only
    import stripe  # deferred: the Stripe SDK is only loaded by the Stripe gateway

    config = (api_key, api_base, timeout)
    held = getattr(_stripe_local, "client", None)
    if held is not None and held[0] == config:
        return held[1]
    session = requests.Session()
    session.trust_env = False
    session.proxies.update(requests.utils.get_environ_proxies(api_base or STRIPE_API_URL))
    # Retries (network errors, timeouts) reuse the request's idempotency key.
    client = stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base} if api_base else None,
        max_network_retries=2,
        http_client=stripe.RequestsClient(timeout=timeout, session=session),
    )
    _stripe_local.client = (config, client)
    return client


STRIPE_API_URL = "https://api.stripe.com"


class StripeGateway:
    """Stripe Checkout through the official library (``settings.STRIPE_API_BASE`` for a stand-in)."""

    name = "stripe"

    def _client(self):
        return _stripe_client(
            settings.STRIPE_SECRET_KEY or "",
            settings.STRIPE_API_BASE or "",
            orders_setting("STRIPE_TIMEOUT_SECONDS"),
        )

    def session_create(self, *, order: Any, success_url: str, cancel_url: str) -> CheckoutSession:
        import stripe  # deferred: the Stripe SDK is only loaded by the Stripe gateway

        params = {
            "mode": "payment",
            "line_items": gateway_line_items(order=order),
            "customer_email": order.email,
            "client_reference_id": str(order.id),
            "metadata": {"order_id": str(order.id), "order_number": order.number},
            "payment_intent_data": {
                "metadata": {"order_id": str(order.id), "order_number": order.number}
            },
            "success_url": success_url + "?session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": cancel_url,
            "locale": order.language if order.language in ("en", "fr") else "auto",
        }
        try:
            session = self._client().v1.checkout.sessions.create(
                params=params, options={"idempotency_key": f"checkout-session-{order.id}"}
            )
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc
        return CheckoutSession(id=session.id, url=session.url)

    def _retrieve(self, session_id: str) -> dict[str, Any]:
        """The Checkout Session with its payment intent's latest charge, as the plain JSON
        object Stripe sent (the typed object the SDK would build from it is not needed)."""
        import stripe  # deferred: the Stripe SDK is only loaded by the Stripe gateway

        path = f"/v1/checkout/sessions/{quote(session_id, safe='')}"
        try:
            response = self._client().raw_request(
                "get", path, expand=["payment_intent.latest_charge"]
            )
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc
        return response.data

    @staticmethod
    def _risk_from_intent(intent: Any) -> RiskFacts:
        charge = intent.get("latest_charge") if isinstance(intent, dict) else None
        if not isinstance(charge, dict):
            return RiskFacts(risk_level="", card_fingerprint="")
        outcome = charge.get("outcome") or {}
        card = (charge.get("payment_method_details") or {}).get("card") or {}
        return RiskFacts(
            risk_level=outcome.get("risk_level") or "",
            card_fingerprint=card.get("fingerprint") or "",
            card_country=(card.get("country") or "").upper()[:2],
        )

    def session_retrieve(self, *, session_id: str) -> PaymentState:
        session = self._retrieve(session_id)
        intent = session.get("payment_intent")
        risk = self._risk_from_intent(intent)
        payment_id = intent.get("id", "") if isinstance(intent, dict) else (intent or "")
        return PaymentState(
            session_id=session["id"],
            paid=session.get("payment_status") == "paid",
            amount_minor=int(session.get("amount_total") or 0),
            currency=(session.get("currency") or "").lower(),
            payment_id=payment_id,
            order_id=(session.get("metadata") or {}).get("order_id", ""),
            risk_level=risk.risk_level,
            card_fingerprint=risk.card_fingerprint,
            card_country=risk.card_country,
        )

    def risk_get(self, *, order: Any) -> RiskFacts | None:
        if not order.gateway_session_id:
            return None
        session = self._retrieve(order.gateway_session_id)
        return self._risk_from_intent(session.get("payment_intent"))

    def refund_create(
        self, *, order: Any, amount: Decimal, idempotency_key: str, refund_id: int
    ) -> GatewayRefund:
        import stripe  # deferred: the Stripe SDK is only loaded by the Stripe gateway

        if not order.gateway_payment_id:
            raise GatewayError("order has no payment to refund")
        try:
            refund = self._client().v1.refunds.create(
                params={
                    "payment_intent": order.gateway_payment_id,
                    "amount": money_to_minor_units(amount=amount, currency=order.currency),
                    "metadata": {
                        "order_id": str(order.id),
                        "order_number": order.number,
                        "refund_id": str(refund_id),
                    },
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc
        return GatewayRefund(id=refund.id, status=refund.status or "pending")


# --- the local test gateway ---------------------------------------------------------------

TEST_CARDS = {
    "4242424242424242": "success",
    "4000000000000002": "decline",
    "4100000000000019": "fraud",
    # Stripe's country test cards: they pay, and report the card's issuing country.
    "4000002500000003": "success",
    "4000002760000016": "success",
    "4000000760000002": "success",
}
# The issuing country the local gateway reports (4242... reports none, like an unknown BIN).
TEST_CARD_COUNTRIES = {
    "4000002500000003": "FR",
    "4000002760000016": "DE",
    "4000000760000002": "BR",
}


def test_card_country(*, number: str) -> str:
    digits = "".join(ch for ch in number if ch.isdigit())
    return TEST_CARD_COUNTRIES.get(digits, "")


def gateway_line_items(*, order: Any) -> list[dict[str, Any]]:
    """Stripe Checkout line items that add up to the order's total exactly.

    A line charged at its list price is ``quantity × unit price``; a discounted line (whose
    total need not divide by its quantity) is one item of ``quantity × name`` at the line's
    total, with the discount in its description."""
    currency = order.currency.lower()
    items = []
    for line in order.lines.all().order_by("id"):
        if line.unit_price * line.quantity == line.line_total:
            quantity, amount, name, description = (
                line.quantity, line.unit_price, line.product_name, ""
            )  # fmt: skip
        else:
            quantity, amount = 1, line.line_total
            name = f"{line.quantity} × {line.product_name}"
            discount = money_format(
                amount=line.discount_amount, currency=order.currency, language=order.language
            )
            description = f"{order.coupon_code}: -{discount}" if line.discount_amount else ""
        product_data: dict[str, Any] = {"name": name}
        if description:
            product_data["description"] = description
        items.append(
            {
                "quantity": quantity,
                "price_data": {
                    "currency": currency,
                    "unit_amount": money_to_minor_units(amount=amount, currency=currency),
                    "product_data": product_data,
                },
            }
        )
    return items


def test_card_outcome(*, number: str) -> str:
    """success | decline | fraud | unknown, for a card number typed with or without spaces."""
    digits = "".join(ch for ch in number if ch.isdigit())
    return TEST_CARDS.get(digits, "unknown")


def test_card_fingerprint(*, number: str) -> str:
    digits = "".join(ch for ch in number if ch.isdigit())
    return "tfp_" + hashlib.sha256(digits.encode()).hexdigest()[:24]


class TestGateway:
    """An offline gateway: a hosted payment page on this site, with test cards."""

    name = "test"
    __test__ = False  # not a pytest class

    def session_create(self, *, order: Any, success_url: str, cancel_url: str) -> CheckoutSession:
        session_id = f"test_cs_{order.id.hex}"
        return CheckoutSession(
            id=session_id, url=reverse("orders:test_pay", kwargs={"session_id": session_id})
        )

    def session_retrieve(self, *, session_id: str) -> PaymentState:
        # The test page confirms payment itself; there is nothing remote to ask.
        return PaymentState(
            session_id=session_id, paid=False, amount_minor=0, currency="", payment_id=""
        )

    def risk_get(self, *, order: Any) -> RiskFacts | None:
        return None  # recorded when the test card was paid

    def refund_create(
        self, *, order: Any, amount: Decimal, idempotency_key: str, refund_id: int
    ) -> GatewayRefund:
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        return GatewayRefund(id=f"test_re_{digest}", status="succeeded")


def gateway_get(*, name: str | None = None) -> Gateway:
    name = name or settings.PAYMENT_GATEWAY
    if name == "stripe":
        return StripeGateway()
    if name == "test":
        return TestGateway()
    raise GatewayError(f"unknown payment gateway {name!r}")
