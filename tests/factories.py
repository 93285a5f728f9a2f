"""factory_boy factories shared by the whole suite. Each app's helpers may add theirs here."""

from decimal import Decimal

import factory
from django.utils.text import slugify

from accounts.models import User
from storefront.models import Category, Product


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
