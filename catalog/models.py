from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from modeltranslation.manager import MultilingualManager


class Platform(models.TextChoices):
    WINDOWS = "windows", _("Windows")
    MACOS = "macos", _("macOS")
    LINUX = "linux", _("Linux")
    ANDROID = "android", _("Android")
    XBOX = "xbox", _("Xbox")
    PLAYSTATION = "playstation", _("PlayStation")
    NINTENDO = "nintendo", _("Nintendo")
    STEAM = "steam", _("Steam")
    MULTI = "multi", _("Multi-platform")


# Region codes staff commonly type, named in the customer's language; any other value is
# shown as typed (it is a code: filters and the API use it unchanged).
REGION_LABELS = {
    "global": _("Worldwide"),
    "worldwide": _("Worldwide"),
    "eu": _("European Union"),
    "europe": _("Europe"),
    "us": _("United States"),
    "usa": _("United States"),
    "uk": _("United Kingdom"),
    "ksa": _("Saudi Arabia"),
    "uae": _("United Arab Emirates"),
    "mena": _("Middle East and North Africa"),
}


class ProductKind(models.TextChoices):
    LICENSE_KEY = "license_key", _("License key")
    GIFT_CODE = "gift_code", _("Gift code")


class Category(models.Model):
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    # The manager django-modeltranslation would patch in at registration (translation.py),
    # declared here so mypy can resolve it (and the reverse managers that use it).
    objects = MultilingualManager()

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="products", verbose_name=_("category")
    )
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=200, unique=True)
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    kind = models.CharField(
        _("kind"), max_length=16, choices=ProductKind.choices, default=ProductKind.LICENSE_KEY
    )
    platform = models.CharField(_("platform"), max_length=16, choices=Platform.choices)
    edition = models.CharField(_("edition / version"), max_length=120, blank=True)
    region = models.CharField(
        _("region"),
        max_length=64,
        default="Global",
        help_text=_("Where the key or code can be activated, e.g. Global, EU, US, KSA."),
    )
    denomination = models.DecimalField(
        _("denomination"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Face value of a gift code."),
    )
    denomination_currency = models.CharField(_("denomination currency"), max_length=3, blank=True)
    description = models.TextField(_("description"), blank=True)
    system_requirements = models.TextField(_("system requirements"), blank=True)
    compatibility_notes = models.TextField(
        _("compatibility notes"),
        blank=True,
        help_text=_("Shown before purchase: what this key does not work with."),
    )
    activation_instructions = models.TextField(_("activation instructions"), blank=True)
    manufacturer_warranty_months = models.PositiveIntegerField(
        _("manufacturer warranty (months)"), default=0
    )
    key_format = models.CharField(
        _("key format"),
        max_length=200,
        blank=True,
        help_text=_("Optional regular expression every imported code must match."),
    )
    price = models.DecimalField(
        _("price"), max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    max_per_order = models.PositiveIntegerField(_("maximum per order"), default=5)
    low_stock_threshold = models.PositiveIntegerField(_("low stock threshold"), default=5)
    is_active = models.BooleanField(_("on sale"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # As on Category.
    objects = MultilingualManager()

    class Meta:
        ordering = ["category__position", "name"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        indexes = [models.Index(fields=["is_active", "platform"])]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="product_price_positive"),
            models.CheckConstraint(
                condition=Q(kind="gift_code") | Q(denomination__isnull=True),
                name="product_denomination_only_for_gift_codes",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:product_detail", kwargs={"slug": self.slug})

    @property
    def region_label(self) -> str:
        """The region as the customer reads it (``Global`` -> "Worldwide", "Monde entier")."""
        label = REGION_LABELS.get(self.region.strip().lower())
        return str(label) if label is not None else self.region


class ProductImage(models.Model):
    """A picture of a product, uploaded by staff, checked by content and re-encoded
    (catalog.images), kept in the public ``default`` storage with WebP thumbnails."""

    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="images", verbose_name=_("product")
    )
    file = models.FileField(_("image"), max_length=255, upload_to="products/originals/")
    alt_text = models.CharField(
        _("alternative text"),
        max_length=200,
        blank=True,
        help_text=_(
            "What the picture shows, for customers who cannot see it. Empty: the product name."
        ),
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    width = models.PositiveIntegerField(_("width"), default=0, editable=False)
    height = models.PositiveIntegerField(_("height"), default=0, editable=False)
    # {"320": "products/thumbs/<id>/<sha>-320.webp", ...}: written by the thumbnail task.
    thumbnails = models.JSONField(_("thumbnails"), default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("product image")
        verbose_name_plural = _("product images")
        indexes = [models.Index(fields=["product", "position"])]

    def __str__(self) -> str:
        return self.alt_text or self.product.name
