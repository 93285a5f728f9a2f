import importlib
import secrets

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from catalog.models import Category, Product
from web.demo import CATEGORIES, PRODUCTS, category_defaults, product_defaults

STAFF_EMAIL = "staff@keystore.localhost"


class Command(BaseCommand):
    help = "Create a believable demo catalog and a staff user (safe to run twice)."

    def add_arguments(self, parser):
        parser.add_argument("--staff-email", default=STAFF_EMAIL)
        parser.add_argument("--keys-per-product", type=int, default=25)

    @transaction.atomic
    def handle(self, *args, **options):
        categories = {}
        for slug, name, position in CATEGORIES:
            categories[slug], _ = Category.objects.update_or_create(
                slug=slug, defaults=category_defaults(slug, name=name, position=position)
            )
        created = 0
        for spec in PRODUCTS:
            _, was_created = Product.objects.update_or_create(
                sku=spec["sku"],
                defaults=product_defaults(spec, category=categories[spec["category"]]),
            )
            created += was_created
        self.stdout.write(f"Catalog: {len(PRODUCTS)} products ({created} new).")

        for hook in self._extra_seeders():
            hook(stdout=self.stdout, keys_per_product=options["keys_per_product"])

        password = secrets.token_urlsafe(12)
        User = get_user_model()
        user, _ = User.objects.get_or_create(
            email=options["staff_email"], defaults={"is_staff": True, "is_superuser": True}
        )
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save(update_fields=["is_staff", "is_superuser", "password"])
        EmailAddress.objects.update_or_create(
            user=user, email=user.email, defaults={"verified": True, "primary": True}
        )
        self.stdout.write(
            self.style.SUCCESS(f"Staff login: {user.email} / {password}  (admin: /admin/)")
        )

    def _extra_seeders(self):
        """Each app that has demo data offers `demo_seed(stdout, keys_per_product)`."""
        hooks = []
        for module_name in (
            "web.demo_images",
            "policies.demo",
            "pricing.demo",
            "keys.demo",
            "orders.demo",
        ):
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name != module_name:
                    raise
                continue
            hooks.append(module.demo_seed)
        return hooks
