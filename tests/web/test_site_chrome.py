"""The site chrome (head links, header, navigation, footer) is rendered once per process and
state ({% chrome %}, web/templatetags/site_chrome.py): it must never carry one visitor's,
one language's or one request's content into another's page, and a change of the shop's
identity must show on the next page."""

import re

import pytest
from django.conf import settings
from django.template import Context, Template
from django.urls import reverse

from catalog.selectors import catalog_facets_cached
from core.identity import shop_identity_update
from orders.models import Order
from tests.factories import CategoryFactory, ProductFactory, UserFactory, keys_create
from web.templatetags.site_chrome import chrome_cache_clear

pytestmark = pytest.mark.django_db

BADGE = re.compile(r'<span class="badge" aria-label="[^"]*">(\d+)</span>')
LOGOUT_TOKEN = re.compile(
    r'action="/accounts/logout/"[^>]*>\s*<input type="hidden" name="csrfmiddlewaretoken" '
    r'value="([^"]+)"'
)
NEXT = re.compile(r'<input name="next" type="hidden" value="([^"]*)">')


@pytest.fixture
def product(product):
    keys_create(product=product, count=3)
    return product


def _page(client, url: str = "/orders/track/") -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_each_visitor_sees_their_own_cart_count(client, product):
    other = client.__class__()
    client.post(reverse("catalog:cart_add", args=[product.slug]), {"quantity": 2})
    assert BADGE.findall(_page(client)) == ["2"]
    assert BADGE.findall(_page(other)) == ["0"]
    assert BADGE.findall(_page(client)) == ["2"]


def test_a_signed_in_customer_and_a_visitor_get_their_own_header(client):
    visitor = client.__class__()
    client.force_login(UserFactory(email="chrome-a@example.com"))
    signed_in, anonymous = _page(client), _page(visitor)
    assert "Sign out" in signed_in and "My Account" in signed_in
    assert "Sign in" not in signed_in
    assert "Sign in" in anonymous and "Create account" in anonymous
    assert "Sign out" not in anonymous and LOGOUT_TOKEN.findall(anonymous) == []


def test_two_customers_get_their_own_csrf_token_in_the_sign_out_form(client):
    other = client.__class__(enforce_csrf_checks=True)
    client.force_login(UserFactory(email="chrome-a@example.com"))
    other.force_login(UserFactory(email="chrome-b@example.com"))
    first = LOGOUT_TOKEN.findall(_page(client))
    second = LOGOUT_TOKEN.findall(_page(other))
    assert len(first) == len(second) == 1
    assert first != second
    # the token each page carries is the one its own session accepts: signing out works
    response = other.post("/accounts/logout/", {"csrfmiddlewaretoken": second[0]})
    assert response.status_code == 302
    assert "_auth_user_id" not in other.session


def test_the_language_form_returns_to_the_page_it_is_on(client, product):
    assert NEXT.findall(_page(client, "/orders/track/")) == ["/orders/track/"]
    assert NEXT.findall(_page(client, f"/products/{product.slug}/")) == [
        f"/products/{product.slug}/"
    ]
    assert NEXT.findall(_page(client, "/cart/?x=1")) == ["/cart/?x=1"]


def test_each_language_gets_its_own_header_and_footer(client):
    french = client.__class__()
    french.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    english = _page(client)
    in_french = _page(french)
    assert "Track an order" in english and 'lang="en"' in english
    assert "Se connecter" in in_french and 'lang="fr"' in in_french
    assert "Sign in" not in in_french
    assert "Se connecter" not in _page(client)
    arabic = client.__class__()
    arabic.cookies[settings.LANGUAGE_COOKIE_NAME] = "ar"
    assert '<option value="ar" lang="ar" selected>' in _page(arabic)
    assert '<option value="en" lang="en" selected>' in _page(client)


def test_a_changed_shop_identity_shows_on_the_next_page(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the change is committed
        shop_identity_update(name="First Name Shop", support_email="one@first.example")
    page = _page(client)
    assert "First Name Shop" in page and "one@first.example" in page
    with django_capture_on_commit_callbacks(execute=True):
        shop_identity_update(name="Second Name Shop", support_email="two@second.example")
    page = _page(client)
    assert "Second Name Shop" in page and "two@second.example" in page
    assert "First Name Shop" not in page and "one@first.example" not in page


def test_the_stored_chrome_is_the_same_page_as_a_fresh_render(client, product):
    """A page served from the stored chrome is byte for byte the page rendered from scratch."""
    client.post(reverse("catalog:cart_add", args=[product.slug]), {"quantity": 1})
    client.force_login(UserFactory(email="chrome-a@example.com"))
    _page(client, "/cart/")  # shows (and so consumes) the "in your cart" message
    chrome_cache_clear()
    fresh = _page(client, f"/products/{product.slug}/")
    stored = _page(client, f"/products/{product.slug}/")
    token = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
    assert token.sub("", fresh) == token.sub("", stored)


def test_live_blocks_render_per_context_and_the_rest_once_per_key():
    template = Template(
        '{% load site_chrome %}{% chrome "t" kind %}[{{ kind }} {{ shared }}]'
        "{% live %}<{{ mine }}>{% endlive %}{% endchrome %}"
    )
    chrome_cache_clear()
    first = template.render(Context({"kind": "a", "shared": "one", "mine": "x"}))
    again = template.render(Context({"kind": "a", "shared": "two", "mine": "y"}))
    other = template.render(Context({"kind": "b", "shared": "two", "mine": "z"}))
    assert (first, again, other) == ("[a one]<x>", "[a one]<y>", "[b two]<z>")


def test_catalog_filters_follow_a_new_category_and_each_language(client, product):
    before = {facet.value for facet in catalog_facets_cached().categories}
    games = CategoryFactory(slug="chrome-games", name="Games")
    ProductFactory(category=games, slug="chrome-game", sku="CHROME-GAME")
    after = {facet.value for facet in catalog_facets_cached().categories}
    assert after == before | {"chrome-games"}
    page = client.get("/?category=chrome-games").content.decode()
    assert 'value="chrome-games"' in page


def test_status_labels_are_translated_per_request_language(client):
    from django.utils import translation

    order = Order(status="delivered")
    with translation.override("fr"):
        assert order.get_status_display() == "Livrée"
    with translation.override("en"):
        assert order.get_status_display() == "Delivered"
    assert Order(status="no-such-status").get_status_display() == "no-such-status"
