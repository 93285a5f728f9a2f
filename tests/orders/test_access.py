"""Who may see an order and its keys: the buyer's session, tracking, My Account; nobody else."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from keys.models import KeyView
from orders.services import payment_test_card_submit
from tests.factories import UserFactory, order_new

pytestmark = pytest.mark.django_db(transaction=True)
TRACK = "/orders/track/"


def _delivered(product, **kw):
    order = order_new(product=product, **kw)
    payment_test_card_submit(session_id=order.gateway_session_id, card_number="4242424242424242")
    order.refresh_from_db()
    assert order.status == "delivered"
    return order


def _codes(response):
    return re.findall(r'<span class="code" data-key>([^<]+)</span>', response.content.decode())


def test_another_customers_order_key_and_reveal_are_404(client, stocked):
    order = _delivered(stocked, email="alice@example.com")
    key = order.lines.get().keys.get()
    client.force_login(UserFactory(email="mallory@example.com"))
    assert client.get(reverse("orders:detail", args=[order.number])).status_code == 404
    reveal = reverse("orders:key_reveal", args=[order.number, key.pk])
    assert client.post(reveal).status_code == 404
    assert client.post(reverse("orders:resend", args=[order.number])).status_code == 404
    assert client.post(reverse("orders:cancel", args=[order.number])).status_code == 404
    assert not KeyView.objects.filter(channel__in=["account", "screen", "tracking"]).exists()


def test_anonymous_visitor_without_the_tracking_details_gets_404(client, stocked):
    order = _delivered(stocked)
    assert client.get(reverse("orders:detail", args=[order.number])).status_code == 404


def test_tracking_with_number_and_email_shows_the_keys_audited(client, stocked):
    order = _delivered(stocked, email="Alice@Example.com")
    response = client.post(TRACK, {"number": order.number.lower(), "email": " alice@example.COM "})
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert "no-store" in page["Cache-Control"]
    [code] = _codes(page)
    assert code.endswith(order.lines.get().keys.get().last4)
    view = KeyView.objects.get(channel="tracking")
    assert view.guest_email == "Alice@Example.com"
    # the access is remembered in the session: the page can be opened again directly
    assert _codes(client.get(reverse("orders:detail", args=[order.number]))) == [code]


def test_tracking_answers_the_same_for_no_such_order_and_wrong_email(client, stocked):
    order = _delivered(stocked, email="alice@example.com")
    wrong_email = client.post(TRACK, {"number": order.number, "email": "bob@example.com"})
    no_order = client.post(TRACK, {"number": "KS-ZZZZZZZZ", "email": "alice@example.com"})
    assert wrong_email.status_code == no_order.status_code == 404

    def message(response):
        return re.search(r'<div role="alert">(.*?)</div>', response.content.decode(), re.S).group(1)

    assert message(wrong_email) == message(no_order)
    assert client.get(reverse("orders:detail", args=[order.number])).status_code == 404


def test_the_owner_gets_through_after_ten_wrong_guesses_from_another_ip(stocked):
    order = _delivered(stocked, email="alice@example.com")
    attacker = Client(REMOTE_ADDR="203.0.113.66")
    for _ in range(10):
        guess = attacker.post(TRACK, {"number": order.number, "email": "x@example.com"})
        assert guess.status_code == 404
    owner = Client(REMOTE_ADDR="198.51.100.7")
    response = owner.post(TRACK, {"number": order.number, "email": "alice@example.com"})
    assert response.status_code == 302
    assert owner.get(response["Location"]).status_code == 200


def _track(client, number, email="x@example.com", **extra):
    return client.post(TRACK, {"number": number, "email": email}, **extra)


def test_tracking_limits_failed_lookups_per_ip_and_each_ip_separately(settings, stocked):
    """Once one address is refused, another still gets through (a single limiter for
    everyone would refuse it too), and the first stays refused."""
    settings.ORDERS_TRACK_PER_IP = 2
    order = _delivered(stocked, email="alice@example.com")
    guesser = Client(REMOTE_ADDR="203.0.113.66")
    assert _track(guesser, "KS-AAAAAAAA").status_code == 404
    assert _track(guesser, "KS-BBBBBBBB").status_code == 404
    blocked = _track(guesser, order.number, "alice@example.com")
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.content.decode()
    other = Client(REMOTE_ADDR="198.51.100.7")
    assert _track(other, "KS-AAAAAAAA").status_code == 404  # its own first failure
    response = _track(other, order.number, "alice@example.com")
    assert response.status_code == 302
    assert other.get(response["Location"]).status_code == 200
    assert _track(guesser, order.number, "alice@example.com").status_code == 429  # still


def test_tracking_behind_the_proxy_limits_each_forwarded_client_separately(settings, stocked):
    """Behind the declared proxy every request comes from its address; the limit follows
    the client address it forwards (core.http.client_ip_get), and a client that writes its
    own X-Forwarded-For gets no fresh allowance from it."""
    settings.ORDERS_TRACK_PER_IP = 2
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    order = _delivered(stocked, email="alice@example.com")
    proxy = Client(REMOTE_ADDR="10.0.0.2")
    guesser = {"HTTP_X_FORWARDED_FOR": "203.0.113.66"}
    assert _track(proxy, "KS-AAAAAAAA", **guesser).status_code == 404
    assert _track(proxy, "KS-BBBBBBBB", **guesser).status_code == 404
    assert _track(proxy, order.number, "alice@example.com", **guesser).status_code == 429
    # the guesser forging a first hop: the proxy appends the address it saw, which counts
    forged = {"HTTP_X_FORWARDED_FOR": "198.51.100.99, 203.0.113.66"}
    assert _track(proxy, order.number, "alice@example.com", **forged).status_code == 429
    owner = {"HTTP_X_FORWARDED_FOR": "198.51.100.7"}
    response = _track(proxy, order.number, "alice@example.com", **owner)
    assert response.status_code == 302


def test_successful_tracking_lookups_do_not_count_against_the_limit(settings, stocked):
    settings.ORDERS_TRACK_PER_IP = 2
    order = _delivered(stocked, email="alice@example.com")
    owner = Client(REMOTE_ADDR="198.51.100.7")
    for _ in range(5):
        response = owner.post(TRACK, {"number": order.number, "email": "alice@example.com"})
        assert response.status_code == 302


def test_tracking_requires_both_fields(client, db):
    response = client.post(TRACK, {"number": "", "email": ""})
    assert response.status_code == 200
    assert response.content.decode().count("This field is required.") == 2


def test_my_account_lists_own_and_verified_guest_orders_with_masked_keys(client, stocked):
    user = UserFactory(email="carol@example.com")
    own = _delivered(stocked, email="carol@example.com", user=user)
    guest = _delivered(stocked, email="CAROL@example.com")
    other = _delivered(stocked, email="dave@example.com")
    client.force_login(user)
    page = client.get(reverse("accounts:dashboard")).content.decode()
    assert own.number in page and guest.number in page and other.number not in page
    code_last4 = own.lines.get().keys.get().last4
    assert f"•••• {code_last4}" in page
    assert not _codes(client.get(reverse("accounts:dashboard")))
    assert not KeyView.objects.filter(channel="account").exists()


def test_guest_orders_under_an_unverified_email_stay_hidden(client, stocked):
    user = UserFactory(email="erin@example.com", verified=False)
    guest = _delivered(stocked, email="erin@example.com")
    client.force_login(user)
    assert guest.number not in client.get(reverse("accounts:dashboard")).content.decode()
    assert client.get(reverse("orders:detail", args=[guest.number])).status_code == 404


def test_reveal_in_my_account_shows_the_code_and_is_audited(client, stocked):
    user = UserFactory(email="frank@example.com")
    order = _delivered(stocked, email="frank@example.com", user=user)
    key = order.lines.get().keys.get()
    client.force_login(user)
    response = client.post(
        reverse("orders:key_reveal", args=[order.number, key.pk]), REMOTE_ADDR="192.0.2.9"
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    [code] = _codes(response)
    assert code.endswith(key.last4)
    view = KeyView.objects.get(channel="account")
    assert view.user == user and str(view.ip) == "192.0.2.9"


def test_resend_is_rate_limited_per_order(client, settings, stocked):
    from django.core import mail

    settings.ORDERS_RESEND_PER_HOUR = 2
    user = UserFactory(email="gina@example.com")
    order = _delivered(stocked, email="gina@example.com", user=user)
    client.force_login(user)
    url = reverse("orders:resend", args=[order.number])
    for _ in range(3):
        client.post(url, {"next": reverse("accounts:dashboard")})
    sent = [m for m in mail.outbox if order.number in m.subject]
    assert len(sent) == 1 + 2  # the delivery plus two re-sends; the third was refused
    response = client.post(url, follow=True)
    assert "sent several times recently" in response.content.decode()


def test_resend_never_redirects_off_site(client, stocked):
    user = UserFactory(email="hal@example.com")
    order = _delivered(stocked, email="hal@example.com", user=user)
    client.force_login(user)
    response = client.post(
        reverse("orders:resend", args=[order.number]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("orders:detail", args=[order.number])


def test_a_key_that_cannot_be_decrypted_shows_a_clear_message_and_alerts_staff_once(
    client, stocked
):
    from django.core import mail

    from keys.models import Key

    order = _delivered(stocked, email="alice@example.com")
    key = order.lines.get().keys.get()
    Key.objects.filter(pk=key.pk).update(ciphertext="gAAAAAtampered-ciphertext")
    mail.outbox.clear()
    response = client.post(TRACK, {"number": order.number, "email": "alice@example.com"})
    for _ in range(2):
        page = client.get(response["Location"])
        body = page.content.decode()
        assert page.status_code == 200
        assert "cannot be shown right now" in body
        assert "tampered" not in body and "gAAAA" not in body
    alerts = [m for m in mail.outbox if f"Key #{key.pk} cannot be decrypted" in m.subject]
    assert len(alerts) == 1
    assert not KeyView.objects.filter(key=key).exclude(channel="email").exists()


def test_the_order_page_links_to_the_claim_form(client, stocked):
    order = _delivered(stocked, email="alice@example.com")
    response = client.post(TRACK, {"number": order.number, "email": "alice@example.com"})
    body = client.get(response["Location"]).content.decode()
    assert reverse("refunds:new", args=[order.number]) in body
