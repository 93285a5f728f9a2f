"""factory_boy factories shared by the whole suite. Each app's helpers may add theirs here."""

from decimal import Decimal

import factory
from django.utils.text import slugify

from accounts.models import User
from catalog.models import Category, Product


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        """Give the user a verified primary address, as allauth would after confirmation."""
        if not create or extracted is False:
            return
        from allauth.account.models import EmailAddress

        EmailAddress.objects.get_or_create(
            user=obj, email=obj.email, defaults={"verified": True, "primary": True}
        )


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.name))


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    category = factory.SubFactory(CategoryFactory)
    name = factory.Sequence(lambda n: f"Windows 11 Pro edition {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.name))
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    platform = "windows"
    edition = "11 Pro"
    price = Decimal("29.90")
    currency = "EUR"
    max_per_order = 5


# --- keys -------------------------------------------------------------------------------


class SupplierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "keys.Supplier"
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Supplier {n}")


class KeyBatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "keys.KeyBatch"

    supplier = factory.SubFactory(SupplierFactory)
    product = factory.SubFactory(ProductFactory)
    cost_per_key = Decimal("4.20")
    currency = "EUR"


def key_code_new(product) -> str:
    """A random code matching the product's key format (5x5 groups by default)."""
    from keys.demo import code_generator_for

    make = code_generator_for(product)
    if make is None:
        raise ValueError(f"cannot generate codes for key format {product.key_format!r}")
    return make()


def keys_create(*, product, count: int, batch=None, codes=None) -> list:
    """`count` available keys of `product`, through the real import (encrypted at rest).

    Pass `codes` to choose the plaintexts (e.g. to check them after a reveal).
    """
    from keys.models import Key
    from keys.services import key_import

    batch = batch or KeyBatchFactory(product=product)
    codes = list(codes) if codes is not None else [key_code_new(product) for _ in range(count)]
    report = key_import(product=product, batch=batch, lines=codes, source_name="factory")
    if not report.ok:
        raise AssertionError(report.message + " " + repr(report.errors[:5]))
    return list(Key.objects.filter(import_run_id=report.import_id).order_by("id"))


# --- orders -----------------------------------------------------------------------------


class OrderFactory(factory.django.DjangoModelFactory):
    """A bare pending order (no lines); prefer `order_new` for a real checkout."""

    class Meta:
        model = "orders.Order"

    email = factory.Sequence(lambda n: f"buyer{n}@example.com")
    billing_name = "Test Buyer"
    currency = "EUR"
    total = Decimal("29.90")
    gateway = "test"


def order_new(
    *,
    product,
    quantity: int = 1,
    email: str = "buyer@example.com",
    user=None,
    ip: str = "203.0.113.7",
    language: str = "en",
    gateway: str = "test",
    session_id: str | None = None,
):
    """A pending order made by the real checkout service from a server-side cart."""
    from orders.cart import cart_get
    from orders.services import ConsentGiven, order_create_from_cart

    order = order_create_from_cart(
        cart=cart_get(session_cart={str(product.pk): quantity}),
        billing_name="Test Buyer",
        email=email,
        language=language,
        user=user,
        ip=ip,
        user_agent="pytest",
        consents=[ConsentGiven(kind="policy_acceptance", text="I accept.", wording_version="test")],
    )
    order.gateway = gateway
    order.gateway_session_id = (
        session_id or f"{'cs' if gateway == 'stripe' else 'test_cs'}_{order.pk.hex}"
    )
    order.save(update_fields=["gateway", "gateway_session_id"])
    return order


# --- refunds ------------------------------------------------------------------------------


def png_bytes(*, size=(64, 48), color=(200, 30, 30), exif: bool = False, fmt: str = "PNG") -> bytes:
    """A small real image (optionally with EXIF, e.g. a GPS position) for evidence uploads."""
    import io

    from PIL import Image

    image = Image.new("RGB", size, color)
    out = io.BytesIO()
    kwargs = {}
    if exif:
        data = Image.Exif()
        data[0x010F] = "SecretCam"  # Make
        data[0x0131] = "Leaky Editor 1.0"  # Software
        kwargs["exif"] = data.tobytes()
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()


def upload_new(*, name: str = "screenshot.png", data: bytes | None = None, content_type: str = ""):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = png_bytes() if data is None else data
    return SimpleUploadedFile(name, data, content_type=content_type or "image/png")


def order_delivered_new(*, product, user=None, email: str | None = None, quantity: int = 1):
    """A paid and delivered order through the real checkout, test gateway and delivery."""
    from django.test import TestCase

    from orders.services import payment_test_card_submit

    email = email or (user.email if user is not None else "buyer@example.com")
    order = order_new(product=product, quantity=quantity, email=email, user=user)
    with TestCase.captureOnCommitCallbacks(execute=True):  # delivery runs on commit
        result = payment_test_card_submit(
            session_id=order.gateway_session_id, card_number="4242424242424242"
        )
    order = result.order
    order.refresh_from_db()
    return order


def claim_new(*, order, key=None, reason: str = "key_invalid", user=None, **kwargs):
    """A claim filed through the real service (the active preset must accept it)."""
    from refunds.services import claim_submit

    line = key.order_line if key is not None else order.lines.first()
    return claim_submit(
        order=order,
        order_line=line,
        key=key,
        reason=reason,
        failed_at=kwargs.pop("failed_at", None),
        description=kwargs.pop("description", "The key is refused as invalid."),
        user=user if user is not None else order.user,
        guest_email=order.email,
        **kwargs,
    )


def orders_delivered_bulk(
    *, product, count: int, user=None, email: str = "", claim_every: int = 0, batch=None
) -> list:
    """``count`` delivered orders of one line and one delivered key each (real encrypted
    keys from the import), written directly: for lists and counts where going through
    checkout ``count`` times would only slow the test. Every ``claim_every``-th order gets
    a claim (alternately open and rejected). Returns the orders."""
    from django.utils import timezone

    from keys.models import Key
    from orders.models import Order, OrderLine, order_number_new
    from refunds.models import Claim

    email = email or (user.email if user is not None else "bulk-buyer@example.com")
    now = timezone.now()
    keys = keys_create(product=product, count=count, batch=batch)
    orders = []
    for i, key in enumerate(keys):
        order = Order.objects.create(
            number=order_number_new(), user=user, email=email, billing_name="Bulk Buyer",
            status="delivered", currency=product.currency, total=product.price,
            policy_preset="antimart", paid_at=now, delivered_at=now,
        )  # fmt: skip
        line = OrderLine.objects.create(
            order=order, product=product, product_name=product.name, quantity=1,
            unit_price=product.price, line_total=product.price,
        )  # fmt: skip
        Key.objects.filter(pk=key.pk).update(
            status="delivered", order_line=line, delivered_at=now, status_changed_at=now
        )
        if claim_every and i % claim_every == 0:
            Claim.objects.create(
                order=order, order_line=line, key=key, user=user,
                guest_email="" if user is not None else email, reason="key_invalid",
                description="bulk", preset_slug="antimart",
                status="submitted" if (i // claim_every) % 2 == 0 else "rejected",
                verification_due_at=now,
            )  # fmt: skip
        orders.append(order)
    return orders
