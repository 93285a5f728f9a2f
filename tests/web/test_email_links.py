"""Every link in an email opens the shop where it is served (SITE_URL): order emails and
account emails (allauth) agree, whatever Host header the triggering request carried; and
`make run` (scripts/run_dev.py) sets SITE_URL to the address it serves."""

import importlib.util
import re
from pathlib import Path

import pytest
from django.core import mail

from tests.factories import ProductFactory, UserFactory, keys_create, order_delivered_new

pytestmark = pytest.mark.django_db

SITE = "https://shop.example.com"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE


def _links(message) -> list[str]:
    html = message.alternatives[0][0] if message.alternatives else ""
    hrefs = re.findall(r'href="([^"]+)"', html)
    in_text = re.findall(r"https?://[^\s<>\"]+", message.body)
    return [href for href in hrefs if not href.startswith("mailto:")] + in_text


def test_delivery_email_links_all_use_site_url():
    product = ProductFactory()
    keys_create(product=product, count=1)
    order = order_delivered_new(product=product, email="ada@example.com")
    delivered = [m for m in mail.outbox if m.extra_headers.get("X-Order-Email") == "delivery"]
    assert len(delivered) == 1
    links = _links(delivered[0])
    assert links, "the delivery email links to My Account and tracking"
    assert all(link.startswith(SITE + "/") for link in links), links
    assert f"{SITE}/orders/track/" in links
    assert order.number in delivered[0].body


def test_password_reset_email_links_use_site_url_not_the_request_host(
    client, django_capture_on_commit_callbacks
):
    user = UserFactory(email="ada@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/accounts/password/reset/", {"email": user.email}, HTTP_HOST="localhost"
        )
    assert response.status_code == 302
    message = mail.outbox[-1]
    links = _links(message)
    assert any("/accounts/password/reset/key/" in link for link in links), links
    assert all(link.startswith(SITE + "/") for link in links), links
    assert "localhost" not in message.body


def test_signup_confirmation_email_links_use_site_url(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/accounts/signup/",
            {
                "email": "new@example.com",
                "password1": "a-Long-pass-9",
                "password2": "a-Long-pass-9",
            },
            HTTP_HOST="127.0.0.1",
        )
    message = mail.outbox[-1]
    links = _links(message)
    assert any("/accounts/confirm-email/" in link for link in links), message.body
    assert all(link.startswith(SITE + "/") for link in links), links
    assert "127.0.0.1" not in message.body


def _run_dev():
    spec = importlib.util.spec_from_file_location("run_dev", ROOT / "scripts" / "run_dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("addr", "site_url"),
    [
        ("127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("127.0.0.1:8123", "http://127.0.0.1:8123"),
        ("0.0.0.0:9000", "http://127.0.0.1:9000"),
        ("8080", "http://127.0.0.1:8080"),
        ("localhost:8001", "http://localhost:8001"),
    ],
)
def test_make_run_serves_email_links_at_its_own_address(addr, site_url):
    assert _run_dev().site_env_for(addr=addr, env={})["SITE_URL"] == site_url


def test_make_run_keeps_an_explicit_site_url_and_allows_a_lan_host():
    run_dev = _run_dev()
    assert "SITE_URL" not in run_dev.site_env_for(
        addr="127.0.0.1:8000", env={"SITE_URL": "https://shop.example.com"}
    )
    extra = run_dev.site_env_for(addr="192.168.1.20:8000", env={})
    assert extra == {
        "SITE_URL": "http://192.168.1.20:8000",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,192.168.1.20",
    }
