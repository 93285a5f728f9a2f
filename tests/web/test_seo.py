"""Search engines and link previews: sitemap, robots.txt, icons, per-page meta tags,
language alternates (?lang=) and the product's JSON-LD, all on SITE_URL."""

import json
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from tests.factories import CategoryFactory, ProductFactory, keys_create

pytestmark = pytest.mark.django_db

SITE = "https://shop.example.com"
NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE + "/"


def _head(html: str) -> str:
    return html.split("</head>", 1)[0]


def _json_ld(html: str) -> dict:
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, flags=re.S)
    assert len(blocks) == 1
    return json.loads(blocks[0])


def test_sitemap_lists_every_product_category_and_policy_page_absolute_on_site_url(client):
    from policies.services import preset_load

    preset_load(slug="novakeys", activate=True)
    products = ProductFactory.create_batch(3)
    hidden = ProductFactory(is_active=False)
    response = client.get("/sitemap.xml", HTTP_HOST="localhost")
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    locations = [loc.text for loc in root.findall("s:url/s:loc", NS)]
    assert locations and all(loc.startswith(SITE + "/") for loc in locations)
    for product in products:
        assert f"{SITE}{product.get_absolute_url()}" in locations
        assert f"{SITE}{product.get_absolute_url()}?lang=ar" in locations
    assert f"{SITE}{hidden.get_absolute_url()}" not in locations
    assert f"{SITE}/?category={products[0].category.slug}" in locations
    assert f"{SITE}/" in locations and f"{SITE}/policies/" in locations
    assert any(
        loc.startswith(f"{SITE}/policies/") and loc != f"{SITE}/policies/" for loc in locations
    )
    # each entry names its language versions and x-default
    entry = next(
        url
        for url in root.findall("s:url", NS)
        if url.find("s:loc", NS).text == f"{SITE}{products[0].get_absolute_url()}?lang=fr"
    )
    alternates = {link.get("hreflang"): link.get("href") for link in entry.findall("x:link", NS)}
    assert alternates == {
        "en": f"{SITE}{products[0].get_absolute_url()}",
        "fr": f"{SITE}{products[0].get_absolute_url()}?lang=fr",
        "ar": f"{SITE}{products[0].get_absolute_url()}?lang=ar",
        "x-default": f"{SITE}{products[0].get_absolute_url()}",
    }


def test_robots_txt_keeps_private_pages_out_and_points_at_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    for prefix in ("/cart/", "/orders/", "/account/", "/accounts/", "/admin/", "/api/", "/claims/"):
        assert f"Disallow: {prefix}\n" in text
    assert f"Sitemap: {SITE}/sitemap.xml" in text


@pytest.mark.parametrize(
    ("path", "content_type", "magic"),
    [
        ("/favicon.ico", "image/x-icon", b"\x00\x00\x01\x00"),
        ("/apple-touch-icon.png", "image/png", b"\x89PNG"),
    ],
)
def test_root_icons_are_served(client, path, content_type, magic):
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert b"".join(response.streaming_content).startswith(magic)


def test_product_page_has_description_canonical_alternates_and_open_graph(client):
    product = ProductFactory(name="Office 2021", description="The whole <Office> suite.")
    html = _head(client.get(product.get_absolute_url()).content.decode())
    url = f"{SITE}{product.get_absolute_url()}"
    assert '<meta name="description" content="The whole &lt;Office&gt; suite.">' in html
    assert f'<link rel="canonical" href="{url}">' in html
    assert f'<link rel="alternate" hreflang="en" href="{url}">' in html
    assert f'<link rel="alternate" hreflang="fr" href="{url}?lang=fr">' in html
    assert f'<link rel="alternate" hreflang="ar" href="{url}?lang=ar">' in html
    assert f'<link rel="alternate" hreflang="x-default" href="{url}">' in html
    assert '<meta property="og:type" content="product">' in html
    assert '<meta property="og:title" content="Office 2021">' in html
    assert f'<meta property="og:url" content="{url}">' in html
    assert f'<meta property="og:image" content="{SITE}/static/icons/icon-512.png">' in html
    assert '<meta property="og:locale" content="en_US">' in html
    assert "noindex" not in html


def test_lang_parameter_serves_the_language_and_makes_it_canonical(client):
    product = ProductFactory()
    response = client.get(product.get_absolute_url() + "?lang=ar")
    html = _head(response.content.decode())
    assert 'lang="ar" dir="rtl"' in response.content.decode()
    assert f'<link rel="canonical" href="{SITE}{product.get_absolute_url()}?lang=ar">' in html
    assert '<meta property="og:locale" content="ar_EG">' in html
    assert response.cookies["django_language"].value == "ar"  # the visitor keeps reading Arabic
    # choosing another language afterwards is not undone by the ?lang= in the return address
    switch = client.get(
        "/language/", {"language": "fr", "next": product.get_absolute_url() + "?lang=ar"}
    )
    assert switch["Location"] == product.get_absolute_url()


def test_product_json_ld_offer_has_price_currency_and_stock(client):
    product = ProductFactory(price=Decimal("19.90"), currency="EUR", sku="OFF-21")
    keys_create(product=product, count=2)
    data = _json_ld(client.get(product.get_absolute_url()).content.decode())
    assert data["@context"] == "https://schema.org" and data["@type"] == "Product"
    assert data["name"] == product.name and data["sku"] == "OFF-21"
    assert data["offers"]["@type"] == "Offer"
    assert data["offers"]["price"] == "19.90"
    assert data["offers"]["priceCurrency"] == "EUR"
    assert data["offers"]["availability"] == "https://schema.org/InStock"
    assert data["offers"]["url"] == f"{SITE}{product.get_absolute_url()}"


def test_product_json_ld_says_out_of_stock_and_cannot_close_its_script(client):
    product = ProductFactory(name="Evil </script><script>alert(1)</script>")
    html = client.get(product.get_absolute_url()).content.decode()
    data = _json_ld(html)
    assert data["offers"]["availability"] == "https://schema.org/OutOfStock"
    assert data["name"] == product.name
    assert "<script>alert(1)" not in html


def test_category_page_has_its_own_title_description_and_canonical(client):
    category = CategoryFactory(name="Games", slug="games", description="PC and console games.")
    ProductFactory(category=category)
    html = _head(client.get("/", {"category": "games"}).content.decode())
    assert '<meta name="description" content="PC and console games.">' in html
    assert f'<link rel="canonical" href="{SITE}/?category=games">' in html
    assert f'<link rel="alternate" hreflang="fr" href="{SITE}/?category=games&amp;lang=fr">' in html
    assert "<title>Games · " in html


def test_search_results_are_not_indexed(client):
    html = _head(client.get("/", {"q": "windows"}).content.decode())
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert 'rel="canonical"' not in html


def test_cart_checkout_and_order_pages_are_noindex(client):
    from tests.factories import UserFactory, order_delivered_new

    product = ProductFactory()
    keys_create(product=product, count=1)
    user = UserFactory()
    order = order_delivered_new(product=product, user=user)
    client.force_login(user)
    for url in ("/cart/", "/orders/track/", f"/orders/o/{order.number}/", "/account/"):
        assert client.get(url).status_code == 200, url
        html = _head(client.get(url).content.decode())
        assert '<meta name="robots" content="noindex, nofollow">' in html, url
        assert "application/ld+json" not in html and 'rel="canonical"' not in html, url


def test_policy_page_describes_itself_and_old_versions_are_not_indexed(client):
    from policies.services import preset_load

    preset_load(slug="novakeys", activate=True)
    index = client.get("/policies/")
    kind = re.search(r'href="/policies/([a-z_-]+)/"', index.content.decode()).group(1)
    html = _head(client.get(f"/policies/{kind}/").content.decode())
    assert f'<link rel="canonical" href="{SITE}/policies/{kind}/">' in html
    description = re.search(r'<meta name="description" content="([^"]+)">', html).group(1)
    assert "license keys and gift cards" not in description  # its own, not the shop's default
    old = _head(client.get(f"/policies/{kind}/", {"version": "1"}).content.decode())
    assert '<meta name="robots" content="noindex, nofollow">' in old
