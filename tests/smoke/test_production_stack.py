"""The production smoke test: the shop as it is deployed, proven end to end on loopback.

Static files collected in production mode; gunicorn with ``KEYSTORE_ENV=production``
behind Debian's nginx (TLS terminated there, ``TRUSTED_PROXY_COUNT=1``); a Celery worker
and beat; PostgreSQL and Redis; Stripe played by the local stand-in for the real
``stripe`` library, its webhooks signed with Stripe's scheme and delivered through nginx.
See ``stack.py`` for how the parts are started and ``conftest.py`` for the fixtures.
"""

from __future__ import annotations

import re

import pytest
import requests
from requests.adapters import HTTPAdapter

from .conftest import ARTIFACTS, TRACK_PER_IP
from .stack import wait_until

pytestmark = pytest.mark.smoke

BUYER = "grace@smoke-test-keys.example"
CSP_MESSAGE = re.compile(r"Content[ -]Security[ -]Policy", re.I)


class SourceAddressAdapter(HTTPAdapter):
    """Connect from a chosen loopback address (127.0.0.2, 127.0.0.3, ...)."""

    def __init__(self, source: str, **kwargs):
        self.source = source
        super().__init__(**kwargs)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        pool_kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)


def client_from(stack, source: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # else REQUESTS_CA_BUNDLE would override our certificate
    session.mount("https://", SourceAddressAdapter(source))
    session.verify = str(stack.cert)
    session.headers["User-Agent"] = f"smoke-client/{source}"
    return session


def csrf_token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def track(stack, session: requests.Session, *, number: str, email: str, headers=None):
    """Look an order up on /orders/track/ the way a browser form would."""
    url = f"{stack.base_url}/orders/track/"
    form = session.get(url, timeout=30)
    assert form.status_code == 200, form.text[:500]
    return session.post(
        url,
        data={"csrfmiddlewaretoken": csrf_token(form.text), "number": number, "email": email},
        headers={"Origin": stack.base_url, "Referer": url, **(headers or {})},
        allow_redirects=False,
        timeout=30,
    )


def buy(stack, session: requests.Session, *, email: str) -> str:
    """Buy one key with a plain HTTP client (pays on the stand-in's page); its order number."""
    base = stack.base_url
    product = session.get(f"{base}/products/windows-11-pro/", timeout=30)
    add = re.search(r'action="(/products/[^"]+/add/)"', product.text).group(1)
    origin = {"Origin": base}
    session.post(f"{base}{add}", data={"csrfmiddlewaretoken": csrf_token(product.text),
                 "quantity": "1"}, headers=origin, timeout=30)  # fmt: skip
    form = session.get(f"{base}/orders/checkout/", timeout=30)
    data = dict.fromkeys(re.findall(r'name="(consent_[^"]+)"', form.text), "on")
    data.update(csrfmiddlewaretoken=csrf_token(form.text), billing_name="Ada Lovelace",
                email=email, language="en")  # fmt: skip
    to_stripe = session.post(f"{base}/orders/checkout/", data=data, headers=origin,
                             allow_redirects=False, timeout=30)  # fmt: skip
    assert to_stripe.status_code == 302, to_stripe.text[:500]
    assert to_stripe.headers["Location"].startswith(f"{stack.stripe.url}/pay/")
    paid = requests.post(to_stripe.headers["Location"], allow_redirects=False, timeout=60)
    back = session.get(paid.headers["Location"], timeout=30)
    assert back.status_code == 200
    return re.search(r"/orders/o/([^/]+)/", back.url).group(1)


def key_views(stack, number: str) -> list[tuple[str, str, str]]:
    return stack.sql(
        "SELECT v.channel, host(v.ip), v.user_agent FROM keys_keyview v"
        " JOIN keys_key k ON k.id = v.key_id JOIN orders_orderline l ON l.id = k.order_line_id"
        " JOIN orders_order o ON o.id = l.order_id WHERE o.number = %s ORDER BY v.id",
        (number,),
    )


@pytest.fixture(scope="module")
def purchase(stack, browser):
    """A guest buys one key in headless Chromium, through nginx, paying on Stripe's page."""
    from playwright.sync_api import expect

    context = browser.new_context(base_url=stack.base_url, locale="en-US", ignore_https_errors=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    try:
        page.goto("/products/windows-11-pro/")
        page.get_by_role("button", name="Add to cart").click()
        page.goto("/cart/")
        page.get_by_role("link", name="Checkout").click()
        page.get_by_label("Billing name").fill("Grace Hopper")
        page.get_by_label("Email address").fill(BUYER)
        for box in page.get_by_role("checkbox").all():  # every consent the preset asks for
            box.check()
        page.get_by_role("button", name="Continue to payment").click()
        page.wait_for_url(f"{stack.stripe.url}/pay/**")  # Stripe's hosted page, not ours
        session_id = page.url.rsplit("/", 1)[-1]
        page.get_by_role("button", name="Pay").click()
        page.wait_for_url(re.compile(r"/orders/o/[^/]+/$"))
        key = page.locator("[data-key]")
        expect(key).to_have_count(1, timeout=60_000)  # the worker delivers; the page polls
        number = re.search(r"/orders/o/([^/]+)/", page.url).group(1)
        yield {
            "number": number,
            "session_id": session_id,
            "code": key.inner_text().strip(),
            "console": console,
        }
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "smoke-purchase.png"), full_page=True)
        raise
    finally:
        context.close()


def test_static_files_are_collected_for_production_and_served_through_nginx(stack):
    home = requests.get(f"{stack.base_url}/", verify=str(stack.cert), timeout=30)
    assert home.status_code == 200
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', home.text)
    assert assets, "the home page links no static file"
    for asset in assets:
        # the manifest storage names each file by its content hash
        assert re.search(r"\.[0-9a-f]{12}\.\w+$", asset), asset
        response = requests.get(f"{stack.base_url}{asset}", verify=str(stack.cert), timeout=30)
        assert response.status_code == 200, asset
        assert "immutable" in response.headers.get("Cache-Control", ""), asset
    assert (stack.run / "static" / "staticfiles.json").exists()


def test_security_headers_hsts_and_a_strict_csp_are_sent(stack):
    response = requests.get(f"{stack.base_url}/", verify=str(stack.cert), timeout=30)
    headers = response.headers
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "includeSubDomains" in headers["Strict-Transport-Security"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    csp = headers.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert directives.get("default-src") == ["'self'"], csp
    scripts = directives.get("script-src", directives.get("default-src", []))
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, csp
    assert directives.get("object-src") == ["'none'"], csp
    assert directives.get("frame-ancestors") == ["'none'"], csp

    plain = requests.get(f"{stack.http_url}/cart/", allow_redirects=False, timeout=30)
    assert plain.status_code == 301
    assert re.fullmatch(r"https://127\.0\.0\.1(:\d+)?/cart/", plain.headers["Location"])


def test_production_refuses_the_test_gateway_and_accepts_the_complete_configuration(stack):
    complete = stack.manage("check", "--deploy", "--fail-level", "WARNING", check=False)
    assert complete.returncode == 0, complete.stdout + complete.stderr

    unsafe = {
        k: v
        for k, v in stack.env.items()
        if k not in ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET")
    }
    unsafe["PAYMENT_GATEWAY"] = "test"
    refused = stack.manage("check", "--deploy", "--fail-level", "WARNING", env=unsafe, check=False)
    assert refused.returncode != 0, "production started with the free test gateway"
    assert "gateway" in (refused.stdout + refused.stderr).lower()


def test_a_browser_buys_through_nginx_with_stripe_and_the_worker_delivers_the_key(stack, purchase):
    number = purchase["number"]
    assert re.fullmatch(r"SMOKE-\d{4}-[0-9A-F]{12}", purchase["code"])
    # the real stripe library created the session, keyed by our own order id
    [created] = [
        call
        for call in stack.stripe.calls("POST", "/v1/checkout/sessions")
        if call.params["metadata"]["order_number"] == number
    ]
    assert created.idempotency_key.startswith("checkout-session-")
    assert created.params["success_url"].startswith(f"{stack.base_url}/orders/o/{number}/return/")
    # Stripe's signed webhook reached the shop through nginx and was processed
    [delivery] = [d for d in stack.stripe.deliveries if d.object_id == purchase["session_id"]]
    assert (delivery.type, delivery.status) == ("checkout.session.completed", 200), delivery
    assert stack.sql(
        "SELECT type, status FROM orders_webhookevent WHERE event_id = %s", (delivery.event_id,)
    ) == [("checkout.session.completed", "processed")]
    [(status, gateway)] = stack.sql(
        "SELECT status, gateway FROM orders_order WHERE number = %s", (number,)
    )
    assert (status, gateway) == ("delivered", "stripe")
    # the worker handed the key email to SMTP, once
    wait_until(lambda: stack.smtp.for_order(number), timeout=60, what="the key email")
    [mail] = stack.smtp.for_order(number)
    assert mail.to == [BUYER]
    # the reveal on screen is audited; the pages broke no Content-Security-Policy rule
    assert ("screen", "127.0.0.1") in [(c, ip) for c, ip, _ua in key_views(stack, number)]
    assert [m for m in purchase["console"] if CSP_MESSAGE.search(m)] == []
    assert stack.sql(
        "SELECT k.status FROM keys_key k JOIN orders_orderline l ON l.id = k.order_line_id"
        " JOIN orders_order o ON o.id = l.order_id WHERE o.number = %s",
        (number,),
    ) == [("delivered",)]


def test_two_clients_are_rate_limited_separately_and_audited_with_their_own_ip(stack, purchase):
    number = purchase["number"]
    first, second = client_from(stack, "127.0.0.2"), client_from(stack, "127.0.0.3")

    # the first client finds the order (a forged X-Forwarded-For does not change who it is)
    found = track(
        stack, first, number=number, email=BUYER, headers={"X-Forwarded-For": "203.0.113.9"}
    )
    assert found.status_code == 302, found.text[:500]
    page = first.get(f"{stack.base_url}{found.headers['Location']}", timeout=30)
    assert purchase["code"] in page.text
    # ... then spends its attempts on wrong guesses until it is refused, even for the order
    guesses = [
        track(stack, first, number=f"KS-NOPE{attempt}", email=BUYER).status_code
        for attempt in range(TRACK_PER_IP)
    ]
    assert guesses[0] == 404 and set(guesses) <= {404, 429}, guesses
    refused = track(stack, first, number=number, email=BUYER)
    assert refused.status_code == 429

    # the second client, another address behind the same proxy, is not held by the first
    found = track(stack, second, number=number, email=BUYER)
    assert found.status_code == 302, found.text[:500]
    page = second.get(f"{stack.base_url}{found.headers['Location']}", timeout=30)
    assert purchase["code"] in page.text
    assert track(stack, first, number=number, email=BUYER).status_code == 429

    tracked = [(ip, ua) for channel, ip, ua in key_views(stack, number) if channel == "tracking"]
    assert tracked == [
        ("127.0.0.2", "smoke-client/127.0.0.2"),
        ("127.0.0.3", "smoke-client/127.0.0.3"),
    ]

    # an order placed from 127.0.0.3 carries that address (fraud velocity, blocklist)
    bought = buy(stack, second, email="ada@smoke-test-keys.example")
    assert stack.sql("SELECT host(purchase_ip) FROM orders_order WHERE number = %s", (bought,)) == [
        ("127.0.0.3",)
    ]


def test_beat_schedules_the_sweeper_and_the_worker_runs_it(stack):
    """Only beat enqueues the sweeper: the worker running it proves beat -> Redis -> worker."""

    def swept():
        worker = stack.logs["worker"].read_text(errors="replace")
        return any(
            "orders.tasks.orders_sweep_undelivered[" in line and "succeeded" in line
            for line in worker.splitlines()
        )

    # the sweeper is due every 60 s after beat starts; allow one period and some slack
    wait_until(swept, timeout=120, what="beat's sweeper to run on the worker", interval=1)
    assert stack.processes["beat"].poll() is None, stack.log_tail("beat")


def test_readyz_is_503_while_redis_is_down_and_healthz_stays_200(stack):
    def get(path):
        return requests.get(f"{stack.base_url}{path}", verify=str(stack.cert), timeout=30)

    assert get("/readyz").status_code == 200
    stack.stop("redis")
    try:
        assert get("/readyz").status_code == 503
        assert get("/healthz").status_code == 200  # liveness: the process itself is fine
    finally:
        stack.redis_start()
    # readiness comes back without restarting the web process
    wait_until(
        lambda: get("/readyz").status_code == 200, timeout=30, what="/readyz after Redis returns"
    )
