"""What the API shows and accepts. Key codes appear only in RevealedKey."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from catalog.models import Product
from keys.importfile import MAX_CODE_LENGTH
from keys.models import KeyBatch
from orders.models import Order, OrderLine, Refund
from refunds.models import Claim, ClaimMessage, Remedy

from .models import ImportJob

if TYPE_CHECKING:
    from catalog.models import Category


class ProductSerializer(serializers.ModelSerializer):
    category: serializers.SlugRelatedField[Category] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    stock_available = serializers.SerializerMethodField(
        help_text="Keys on sale now (not quarantined, not expired)."
    )
    on_sale = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "sku",
            "name",
            "slug",
            "category",
            "kind",
            "platform",
            "region",
            "price",
            "currency",
            "on_sale",
            "max_per_order",
            "low_stock_threshold",
            "stock_available",
            "updated_at",
        ]
        read_only_fields = fields

    def get_stock_available(self, obj) -> int:
        return self.context.get("stock", {}).get(obj.pk, 0)


class ProductUpdateSerializer(serializers.Serializer):
    price = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=Decimal("0.01"), required=False
    )
    on_sale = serializers.BooleanField(required=False)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(_("Send price, on_sale or both."))
        return attrs


class BatchSerializer(serializers.ModelSerializer):
    supplier = serializers.CharField(source="supplier.name", read_only=True)
    product_sku = serializers.CharField(source="product.sku", read_only=True)
    received = serializers.IntegerField(read_only=True)
    sold = serializers.IntegerField(read_only=True)
    unsold = serializers.IntegerField(read_only=True, help_text="Keys still available.")

    class Meta:
        model = KeyBatch
        fields = [
            "id",
            "product",
            "product_sku",
            "supplier",
            "reference",
            "cost_per_key",
            "currency",
            "received_at",
            "expires_on",
            "is_quarantined",
            "quarantine_reason",
            "quarantined_at",
            "received",
            "sold",
            "unsold",
        ]
        read_only_fields = fields


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text="Recorded in the audit trail.")


class ImportRequestSerializer(serializers.Serializer):
    """Codes as a JSON list (one code each) or a CSV/text file body in ``csv``."""

    product: serializers.SlugRelatedField[Product] = serializers.SlugRelatedField(
        slug_field="sku", queryset=Product.objects.all()
    )
    batch = serializers.PrimaryKeyRelatedField(
        queryset=KeyBatch.objects.all(),
        required=False,
        allow_null=True,
        help_text="An existing batch of this product; or leave it out and give a supplier.",
    )
    supplier = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="New batch: supplier name."
    )
    cost_per_key = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=Decimal("0"), required=False, allow_null=True
    )
    currency = serializers.CharField(min_length=3, max_length=3, required=False)
    reference = serializers.CharField(max_length=120, required=False, allow_blank=True)
    codes = serializers.ListField(
        # Longer codes are reported by line by the import itself (like the admin's file).
        child=serializers.CharField(
            max_length=MAX_CODE_LENGTH * 5, allow_blank=True, trim_whitespace=False
        ),
        required=False,
        help_text="One code per item (validated like the admin's one-code-a-line file).",
    )
    csv = serializers.CharField(
        required=False,
        trim_whitespace=False,
        help_text="A CSV file's text: a 'code' column, or the first column.",
    )
    source_name = serializers.CharField(max_length=200, required=False, default="api")

    def validate(self, attrs):
        if bool(attrs.get("codes")) == bool(attrs.get("csv")):
            raise serializers.ValidationError(
                {"codes": [_("Send either codes (a list) or csv (text), not both or neither.")]}
            )
        if attrs.get("codes"):
            broken = [
                str(number)
                for number, code in enumerate(attrs["codes"], start=1)
                if "\n" in code or "\r" in code
            ]
            if broken:
                raise serializers.ValidationError(
                    {
                        "codes": [
                            _("One code per item, without line breaks (items %(items)s).")
                            % {"items": ", ".join(broken[:20])}
                        ]
                    }
                )
        lines = attrs["codes"] if attrs.get("codes") else attrs["csv"].splitlines()
        if len(lines) > settings.API_IMPORT_MAX_LINES:
            raise serializers.ValidationError(
                {
                    "codes": [
                        _("At most %(max)d lines per import.")
                        % {"max": settings.API_IMPORT_MAX_LINES}
                    ]
                }
            )
        attrs["lines"] = lines
        attrs["fmt"] = "text" if attrs.get("codes") else "csv"
        return attrs


class ImportLineErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    reason = serializers.CharField()


class ImportJobSerializer(serializers.ModelSerializer):
    product = serializers.CharField(source="product.sku", read_only=True)
    # A field named "errors": DRF's metaclass takes it off the class, .errors still works.
    errors = ImportLineErrorSerializer(many=True, read_only=True)  # type: ignore[assignment]
    done = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "status",
            "done",
            "product",
            "batch",
            "source_name",
            "lines_total",
            "imported",
            "bad_lines",
            "errors",
            "message",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_done(self, obj) -> bool:
        return obj.finished_at is not None


class KeyMaskedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    masked = serializers.CharField()
    status = serializers.CharField()
    delivered_at = serializers.DateTimeField(allow_null=True)


class OrderLineSerializer(serializers.ModelSerializer):
    product_sku = serializers.CharField(source="product.sku", read_only=True)
    keys = KeyMaskedSerializer(many=True, read_only=True)

    class Meta:
        model = OrderLine
        fields = [
            "id",
            "product",
            "product_sku",
            "product_name",
            "quantity",
            "unit_price",
            "line_total",
            "keys",
        ]
        read_only_fields = fields


class OrderSerializer(serializers.ModelSerializer):
    class Meta:
        model = Order
        fields = [
            "number",
            "status",
            "email",
            "billing_name",
            "currency",
            "total",
            "gateway",
            "created_at",
            "paid_at",
        ]
        read_only_fields = fields


class OrderDetailSerializer(OrderSerializer):
    lines = OrderLineSerializer(many=True, read_only=True)

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "lines"]
        read_only_fields = fields


class RevealedKeySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    order_line = serializers.IntegerField()
    product_sku = serializers.CharField()
    code = serializers.CharField()


class RefundSerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number", read_only=True)

    class Meta:
        model = Refund
        fields = [
            "id",
            "order",
            "amount",
            "currency",
            "reason",
            "reference",
            "status",
            "gateway",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ClaimMessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClaimMessage
        fields = ["id", "author_role", "body", "created_at"]
        read_only_fields = fields


class ClaimSerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number", read_only=True)
    remedy = serializers.ChoiceField(
        choices=Remedy.choices, allow_blank=True, read_only=True, help_text="Empty until decided."
    )
    key = serializers.SerializerMethodField()

    class Meta:
        model = Claim
        fields = [
            "number",
            "order",
            "order_line",
            "key",
            "reason",
            "status",
            "verification",
            "remedy",
            "description",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_key(self, obj) -> str | None:
        return obj.key.masked if obj.key_id else None


class ClaimDetailSerializer(ClaimSerializer):
    messages = ClaimMessageSerializer(many=True, read_only=True)

    class Meta(ClaimSerializer.Meta):
        fields = [*ClaimSerializer.Meta.fields, "decision_note", "refund_amount", "messages"]
        read_only_fields = fields


class ClaimMessageCreateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=5000, help_text="Sent to the customer by email.")


class WebhookEndpointSerializer(serializers.ModelSerializer):
    """An endpoint as listed: never its signing secret (shown once, at creation)."""

    class Meta:
        from webhooks.models import WebhookEndpoint

        model = WebhookEndpoint
        fields = [
            "id",
            "name",
            "url",
            "format",
            "events",
            "is_active",
            "consecutive_failures",
            "disabled_at",
            "disabled_reason",
            "created_at",
        ]
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointWriteSerializer(serializers.Serializer):
    """Validated by the admin's own form (URL guard, known events and formats)."""

    from webhooks.models import WebhookEventType, WebhookFormat

    name = serializers.CharField(max_length=100)
    url = serializers.CharField(
        max_length=500, help_text="An https:// address on the public internet."
    )
    format = serializers.ChoiceField(choices=WebhookFormat.choices, default=WebhookFormat.JSON)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEventType.choices), min_length=1
    )
