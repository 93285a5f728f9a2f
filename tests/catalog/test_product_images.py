"""Product images: uploaded by staff in the Product admin, checked by content, stored
through the storage API with WebP thumbnails, served responsively; a placeholder per
platform when a product has none."""

import io
import json
import re

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image

from catalog.images import ProductImageRejected, product_image_add, product_image_clean
from catalog.models import ProductImage
from catalog.thumbnails import THUMBNAIL_WIDTHS, product_image_thumbnails_make
from tests.factories import ProductFactory, UserFactory, png_bytes, upload_new
from tests.staff import staff_login

pytestmark = pytest.mark.django_db


def _admin_data(product, **images) -> dict:
    """The Product admin's change form as a browser posts it, with one image row."""
    data = {
        "category": product.category_id,
        "name": product.name,
        "name_en": product.name,  # the per-language fields (django-modeltranslation)
        "edition_en": product.edition,
        "slug": product.slug,
        "sku": product.sku,
        "kind": product.kind,
        "platform": product.platform,
        "edition": product.edition,
        "region": product.region,
        "denomination_currency": "",
        "price": str(product.price),
        "currency": product.currency,
        "max_per_order": product.max_per_order,
        "low_stock_threshold": product.low_stock_threshold,
        "manufacturer_warranty_months": 0,
        "is_active": "on",
        "images-TOTAL_FORMS": "1",
        "images-INITIAL_FORMS": "0",
        "images-MIN_NUM_FORMS": "0",
        "images-MAX_NUM_FORMS": "1000",
        "images-0-alt_text": "The boxed edition",
        "images-0-position": "0",
        "_save": "Save",
    }
    data.update({f"images-0-{k}": v for k, v in images.items()})
    return data


@pytest.fixture
def staff_client(client):
    staff_login(
        client=client, user=UserFactory(email="owner@example.com", is_staff=True, is_superuser=True)
    )
    return client


def test_a_png_named_file_whose_content_is_not_an_image_is_refused_with_a_clear_message(
    staff_client, product
):
    fake = upload_new(name="box.png", data=b"<?php echo 'not a picture'; ?>" * 20)
    url = reverse("admin:storefront_product_change", args=[product.pk])
    response = staff_client.post(url, _admin_data(product, file=fake))
    assert response.status_code == 200  # the form again, with the error
    body = response.content.decode()
    assert "This file is not a PNG, JPEG or WebP image (its content was checked" in body
    assert not ProductImage.objects.exists()
    assert not default_storage.exists("products")


def test_too_small_and_too_large_images_are_refused():
    with pytest.raises(ProductImageRejected, match="at least 320"):
        product_image_clean(upload=upload_new(data=png_bytes(size=(200, 150))))
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="900" height="600"></svg>'
    with pytest.raises(ProductImageRejected, match="not a PNG, JPEG or WebP"):
        product_image_clean(upload=upload_new(name="logo.png", data=svg))


def test_an_uploaded_image_is_stored_re_encoded_with_webp_thumbnails_at_each_width(
    staff_client, product, django_capture_on_commit_callbacks
):
    photo = png_bytes(size=(1200, 900), exif=True)
    url = reverse("admin:storefront_product_change", args=[product.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url, _admin_data(product, file=upload_new(data=photo)))
    assert response.status_code == 302, response.content.decode()[:3000]
    image = ProductImage.objects.get(product=product)
    assert (image.width, image.height, image.alt_text) == (1200, 900, "The boxed edition")
    assert image.file.name.startswith("products/originals/") and image.file.name.endswith(".png")
    with default_storage.open(image.file.name) as stored, Image.open(stored) as original:
        assert not original.getexif()  # the metadata is gone
    assert sorted(int(w) for w in image.thumbnails) == list(THUMBNAIL_WIDTHS)
    for width, name in image.thumbnails.items():
        with default_storage.open(name) as thumb, Image.open(thumb) as pixels:
            assert pixels.format == "WEBP"
            assert pixels.size == (int(width), int(width) * 3 // 4)
    # staff see it on the product's page
    page = staff_client.get(url).content.decode()
    assert re.search(
        r'<img src="/media/products/thumbs/\d+/\w+-640\.webp" alt="" width="120"', page
    )


def test_thumbnails_are_never_upscaled_and_making_them_twice_changes_nothing(product):
    clean = product_image_clean(upload=upload_new(data=png_bytes(size=(700, 350))))
    image = product_image_add(product=product, image=clean)
    first = product_image_thumbnails_make(image_id=image.pk)
    assert sorted(int(w) for w in first) == [320, 640]  # 960 would be upscaled
    stamps = {name: default_storage.get_modified_time(name) for name in first.values()}
    assert product_image_thumbnails_make(image_id=image.pk) == first
    assert {name: default_storage.get_modified_time(name) for name in first.values()} == stamps


def _image_for(product, size=(1200, 900)):
    clean = product_image_clean(upload=upload_new(data=png_bytes(size=size)))
    image = product_image_add(product=product, image=clean, alt_text="Box of " + product.name)
    product_image_thumbnails_make(image_id=image.pk)
    return image


def test_the_catalog_and_product_page_serve_thumbnails_with_srcset_and_intrinsic_size(
    client, product
):
    _image_for(product)
    grid = client.get(reverse("catalog:catalog")).content.decode()
    img = re.search(r'<img class="product-img"[^>]*>', grid).group(0)
    assert re.search(
        r'srcset="/media/products/thumbs/\d+/\w+-320\.webp 320w, .*-640\.webp 640w, .*-960\.webp 960w"',
        img,
    )
    assert 'sizes="' in img and 'width="960" height="720"' in img
    assert 'alt="Box of Windows 11 Pro"' in img
    assert 'loading="lazy"' not in img  # the first row is loaded at once
    page = client.get(product.get_absolute_url()).content.decode()
    hero = re.search(r'<img class="product-img"[^>]*>', page).group(0)
    assert 'fetchpriority="high"' in hero and "srcset=" in hero
    # search engines get the picture too
    data = json.loads(
        re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S).group(1)
    )
    assert re.match(r"https?://[^/]+/media/products/thumbs/\d+/\w+-640\.webp$", data["image"])
    assert f'<meta property="og:image" content="{data["image"]}">' in page
    # and the file is served in development
    src = re.search(r'src="(/media/[^"]+)"', hero).group(1)
    response = client.get(src)
    assert response.status_code == 200 and b"".join(response.streaming_content)[:4] == b"RIFF"


def test_cards_below_the_first_row_load_lazily(client, category, settings):
    settings.CATALOG_GRID_CACHE_SECONDS = 0
    for i in range(6):
        ProductFactory(category=category, name=f"Product {i}")
    grid = client.get(reverse("catalog:catalog")).content.decode()
    imgs = re.findall(r'<img class="product-img[^"]*"[^>]*>', grid)
    assert len(imgs) == 6
    assert ['loading="lazy"' in img for img in imgs] == [False] * 4 + [True] * 2


@pytest.mark.parametrize(
    ("platform", "kind", "placeholder"),
    [
        ("steam", "license_key", "steam"),
        ("playstation", "gift_code", "playstation"),
        ("multi", "gift_code", "gift"),
        ("windows", "license_key", "windows"),
    ],
)
def test_a_product_without_images_shows_its_platform_placeholder(
    client, category, platform, kind, placeholder
):
    product = ProductFactory(category=category, platform=platform, kind=kind)
    page = client.get(product.get_absolute_url()).content.decode()
    hero = re.search(r'<img class="product-img product-img-placeholder"[^>]*>', page).group(0)
    assert f'src="/static/img/placeholders/{placeholder}.svg"' in hero
    assert 'alt=""' in hero and 'width="640" height="480"' in hero  # decorative, sized
    from django.contrib.staticfiles import finders

    assert finders.find(f"img/placeholders/{placeholder}.svg")


def test_demo_seed_draws_a_picture_for_every_product_once(
    category, django_capture_on_commit_callbacks
):
    import io as _io

    from web.demo_images import demo_seed

    ProductFactory(
        category=category, name="Steam Wallet 20 EUR", platform="steam", kind="gift_code"
    )
    ProductFactory(category=category, name="Windows 11 Pro")
    out = _io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        demo_seed(stdout=out)
    assert ProductImage.objects.count() == 2
    assert all(
        sorted(map(int, i.thumbnails)) == [320, 640, 960] for i in ProductImage.objects.all()
    )
    demo_seed(stdout=out)
    assert ProductImage.objects.count() == 2
    with default_storage.open(ProductImage.objects.first().file.name) as f:
        assert Image.open(io.BytesIO(f.read())).size == (1280, 960)
