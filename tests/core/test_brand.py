"""The shop's brand from its identity: colours customers can read (WCAG AA with white) or a
refusal that says why, served as /brand.css without inline styles; a logo recognised by
its content (PNG re-encoded, SVG rewritten from an allow-list) or the Keystore mark."""

import io
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from core.brand import contrast_ratio, logo_clean
from core.identity import shop_identity_get, shop_identity_update
from tests.staff import staff_login

pytestmark = pytest.mark.django_db

SVG_OK = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
    b'<title>Shop</title><rect width="10" height="10" fill="#7a1f5c"/></svg>'
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # logos are written to the default storage


def _png(size=(40, 20)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (120, 30, 90)).save(out, format="PNG")
    return out.getvalue()


def test_contrast_ratio_matches_wcag_reference_values():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio("#0b5cad", "#ffffff") > 4.5


def test_a_brand_colour_too_light_for_white_text_is_refused_with_its_ratio():
    with pytest.raises(ValidationError) as caught:
        shop_identity_update(brand_color="#f5c400")
    message = " ".join(caught.value.message_dict["brand_color"])
    assert "1.6" in message and "4.5:1" in message
    with pytest.raises(ValidationError) as caught:
        shop_identity_update(accent_color="blue")
    assert "accent_color" in caught.value.message_dict
    assert shop_identity_get(use_cache=False).brand_color == ""


def test_the_shop_colours_reach_every_page_through_a_versioned_stylesheet(
    client, django_capture_on_commit_callbacks
):
    page = client.get(reverse("catalog:contact")).content.decode()
    assert "/brand.css" not in page  # default colours: no extra request
    assert 'style="' not in page and "<style" not in page
    with django_capture_on_commit_callbacks(execute=True):
        shop_identity_update(brand_color="#7A1F5C")
    page = client.get(reverse("catalog:contact")).content.decode()
    href = re.search(r'href="(/brand\.css\?v=[0-9a-f]+)"', page).group(1)
    css = client.get(href)
    assert css["Content-Type"].startswith("text/css")
    assert "--ks-brand: #7a1f5c;" in css.content.decode()
    assert "immutable" in css["Cache-Control"]
    with django_capture_on_commit_callbacks(execute=True):
        shop_identity_update(brand_color="#14532d")
    page = client.get(reverse("catalog:contact")).content.decode()
    assert href not in page  # a new version: browsers fetch the new colours
    assert "#14532d" in client.get(reverse("brand_css")).content.decode()
    assert "immutable" not in client.get(reverse("brand_css"))["Cache-Control"]


def test_a_png_logo_is_re_encoded_and_served_beside_the_name(
    client, django_capture_on_commit_callbacks
):
    assert "icons/logo-mark.svg" in client.get(reverse("catalog:contact")).content.decode()
    png = _png()
    info = Image.open(io.BytesIO(png)).info
    clean = logo_clean(data=png)
    assert clean.extension == "png" and "exif" not in info
    with django_capture_on_commit_callbacks(execute=True):
        shop_identity_update(logo=clean)
    page = client.get(reverse("catalog:contact")).content.decode()
    src = re.search(r'<a class="brand"[^>]*><img src="([^"]+)"', page).group(1)
    assert src.startswith("/brand/logo.png?v=")
    response = client.get(src)
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert Image.open(io.BytesIO(response.content)).size == (40, 20)
    with django_capture_on_commit_callbacks(execute=True):
        shop_identity_update(logo="")
    assert "icons/logo-mark.svg" in client.get(reverse("catalog:contact")).content.decode()
    assert client.get(src).status_code == 404


@pytest.mark.parametrize(
    "data, reason",
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "script"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "onload"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink">'
            b'<use x:href="https://evil.example/a.svg#x"/></svg>',
            "other files",
        ),
        (
            b'<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>',
            "cannot be read",
        ),
        (b"GIF89a not a logo", "PNG or an SVG"),
        (b"\x89PNG\r\n\x1a\n truncated", "PNG or an SVG"),
    ],
)
def test_a_logo_that_is_not_a_plain_png_or_svg_is_refused_saying_why(data, reason):
    with pytest.raises(ValidationError, match=reason):
        logo_clean(data=data)


def test_an_svg_logo_keeps_only_its_drawing():
    clean = logo_clean(data=SVG_OK)
    assert clean.extension == "svg" and b"<rect" in clean.data and b"<?xml" not in clean.data


def test_the_owner_sets_colours_and_logo_in_the_admin(
    client, staff_user, django_capture_on_commit_callbacks
):
    staff_login(client=client, user=staff_user)
    url = reverse("admin:core_shopidentity_change", args=[1])
    client.get(reverse("admin:core_shopidentity_changelist"))
    data = {
        "name": "Clé Shop",
        "legal_name": "Clé SAS",
        "support_email": "help@cle.example",
        "invoice_prefix": "CLE-",
        "tax_regime": "none",
        "brand_color": "#ffd500",
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert "4.5:1" in response.content.decode()  # the form says why
    data["brand_color"] = "#7a1f5c"
    data["logo"] = SimpleUploadedFile("logo.svg", SVG_OK, content_type="image/png")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    identity = shop_identity_get()
    assert identity.brand_color == "#7a1f5c" and identity.logo.endswith(".svg")
    served = client.get("/brand/logo.svg")
    assert served["Content-Type"] == "image/svg+xml"
    assert "sandbox" in served["Content-Security-Policy"]
    data["logo"] = SimpleUploadedFile("logo.png", b"<html>not an image</html>")
    response = client.post(url, data)
    assert response.status_code == 200 and "PNG or an SVG" in response.content.decode()
