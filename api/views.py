"""Merchant API v1: thin views over the shop's selectors and services."""

from __future__ import annotations

from datetime import UTC
from typing import cast

from django.conf import settings
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import filters, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.response import Response

from catalog.models import Product
from core.http import client_ip_get, user_agent_get
from keys import services as key_services
from keys.crypto import KeyDecryptionError
from keys.http import no_store
from keys.models import Key, KeyBatch, KeyStatus, ViewChannel
from keys.selectors import batch_list_with_stats, key_available_counts
from orders.models import Order, OrderLine, OrderStatus, Refund, RefundStatus
from refunds import services as refund_services
from refunds.models import Claim, ClaimStatus, MessageAuthor
from webhooks.models import WebhookEndpoint
from webhooks.services import webhook_endpoint_disable, webhook_endpoint_enable

from . import serializers as s
from . import services
from .errors import Error
from .models import ApiKey, ImportJob, Scope

ERRORS = {
    400: OpenApiResponse(Error, description="Invalid request"),
    401: OpenApiResponse(Error, description="No key, or an unknown or revoked key"),
    403: OpenApiResponse(Error, description="The key lacks a scope"),
    404: OpenApiResponse(Error, description="Not found"),
    429: OpenApiResponse(Error, description="Rate limited; see Retry-After"),
}
READ_ERRORS = {code: ERRORS[code] for code in (401, 403, 404, 429)}
LIST_ERRORS = {
    **{code: ERRORS[code] for code in (400, 401, 403, 429)},
    404: OpenApiResponse(Error, description="No such page"),
}


def _param(name: str, description: str, type_=str, enum=None):
    return OpenApiParameter(name, type_, OpenApiParameter.QUERY, description=description, enum=enum)


class ApiViewSet(viewsets.GenericViewSet):
    """``required_scopes``: {action: [scopes]}; ``"*"`` applies to actions not listed."""

    required_scopes: dict[str, list[str]] = {}
    filter_backends = [filters.OrderingFilter]

    def dispatch(self, request, *args, **kwargs):
        # The merchant's systems read and match the source texts: product and category
        # names come in the shop's default language (English), whatever Accept-Language
        # or the language cookie says (translated columns: catalog/translation.py).
        with translation.override(settings.LANGUAGE_CODE):
            return super().dispatch(request, *args, **kwargs)

    def required_scopes_get(self, request) -> list[str]:
        scopes = self.required_scopes
        return scopes.get(self.action, scopes.get("*", []))

    def _filter(self, qs, **lookups):
        """Apply the query parameters named in ``lookups`` ({param: field lookup})."""
        for param, lookup in lookups.items():
            value = self.request.query_params.get(param)
            if value not in (None, ""):
                qs = qs.filter(**{lookup: value})
        return qs

    @staticmethod
    def _choice(value, choices, name):
        if value not in (None, "") and value not in choices:
            raise DRFValidationError({name: [f"Pick one of: {', '.join(choices)}."]})


def _bool_param(value, name):
    if value in (None, ""):
        return None
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise DRFValidationError({name: ["Use true or false."]})


# --------------------------------------------------------------------------- products


@extend_schema_view(
    list=extend_schema(
        summary="Products with their stock",
        parameters=[
            _param("on_sale", "Only products on sale (true) or off sale (false).", bool),
            _param("platform", "Only this platform."),
            _param("sku", "Exact SKU."),
        ],
        responses={200: s.ProductSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One product", responses={200: s.ProductSerializer, **READ_ERRORS}
    ),
    partial_update=extend_schema(
        summary="Change price and/or on-sale flag (needs stock:write)",
        request=s.ProductUpdateSerializer,
        responses={200: s.ProductSerializer, **ERRORS},
    ),
)
class ProductViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = s.ProductSerializer
    queryset = Product.objects.select_related("category").order_by("id")
    ordering_fields = ["id", "sku", "name", "price", "updated_at"]
    http_method_names = ["get", "patch", "head", "options"]
    required_scopes = {"partial_update": [Scope.STOCK_WRITE], "*": [Scope.CATALOG_READ]}

    def get_queryset(self):
        qs = self._filter(super().get_queryset(), platform="platform", sku="sku")
        on_sale = _bool_param(self.request.query_params.get("on_sale"), "on_sale")
        if on_sale is not None:
            qs = qs.filter(is_active=on_sale)
        return qs

    def _context_with_stock(self, products) -> dict:
        ids = [p.pk for p in products]
        return {**self.get_serializer_context(), "stock": key_available_counts(product_ids=ids)}

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        data = s.ProductSerializer(page, many=True, context=self._context_with_stock(page)).data
        return self.get_paginated_response(data)

    def retrieve(self, request, *args, **kwargs):
        product = self.get_object()
        return Response(
            s.ProductSerializer(product, context=self._context_with_stock([product])).data
        )

    def partial_update(self, request, *args, **kwargs):
        product = self.get_object()
        form = s.ProductUpdateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        services.product_update(
            product=product,
            actor=request.user,
            price=form.validated_data.get("price"),
            is_active=form.validated_data.get("on_sale"),
        )
        return Response(
            s.ProductSerializer(product, context=self._context_with_stock([product])).data
        )


# --------------------------------------------------------------------------- batches


@extend_schema_view(
    list=extend_schema(
        summary="Key batches with their counts",
        parameters=[
            _param("product", "Only batches of this product SKU."),
            _param("quarantined", "Only quarantined (true) or not (false).", bool),
        ],
        responses={200: s.BatchSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(summary="One batch", responses={200: s.BatchSerializer, **READ_ERRORS}),
)
class BatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = s.BatchSerializer
    queryset = KeyBatch.objects.order_by("-received_at", "-id")
    ordering_fields = ["id", "received_at", "cost_per_key"]
    required_scopes = {
        "quarantine": [Scope.STOCK_WRITE],
        "lift_quarantine": [Scope.STOCK_WRITE],
        "*": [Scope.CATALOG_READ],
    }

    def get_queryset(self):
        qs = batch_list_with_stats(
            queryset=self._filter(super().get_queryset(), product="product__sku")
        )
        quarantined = _bool_param(self.request.query_params.get("quarantined"), "quarantined")
        if quarantined is not None:
            qs = qs.filter(is_quarantined=quarantined)
        return qs

    def _set(self, request, *, quarantined: bool):
        batch = self.get_object()
        form = s.ReasonSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        services.batch_quarantine_set(
            batch=batch,
            actor=request.user,
            reason=form.validated_data["reason"],
            quarantined=quarantined,
        )
        return Response(s.BatchSerializer(self.get_queryset().get(pk=batch.pk)).data)

    @extend_schema(
        summary="Quarantine: withdraw the batch's unsold keys from sale (needs stock:write)",
        request=s.ReasonSerializer,
        responses={200: s.BatchSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def quarantine(self, request, pk=None):
        return self._set(request, quarantined=True)

    @extend_schema(
        summary="Lift the quarantine (needs stock:write)",
        request=s.ReasonSerializer,
        responses={200: s.BatchSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="lift-quarantine")
    def lift_quarantine(self, request, pk=None):
        return self._set(request, quarantined=False)


# --------------------------------------------------------------------------- key imports


@extend_schema_view(
    list=extend_schema(
        summary="Key import jobs of this API key",
        responses={200: s.ImportJobSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="Poll one import job", responses={200: s.ImportJobSerializer, **READ_ERRORS}
    ),
    create=extend_schema(
        summary="Import keys, all or nothing (needs keys:import)",
        description=(
            "Validated exactly like the admin's import: if any line is bad, nothing is stored "
            "and every bad line is reported by number. Up to `API_IMPORT_INLINE_MAX` lines run "
            "at once (201, the job is finished); larger imports run as a job (202): poll "
            "`GET /api/v1/key-imports/{id}/` until `done` is true."
        ),
        request=s.ImportRequestSerializer,
        responses={
            201: s.ImportJobSerializer,
            202: s.ImportJobSerializer,
            **ERRORS,
            413: OpenApiResponse(Error, description="Body over API_MAX_BODY_BYTES"),
        },
    ),
)
class ImportJobViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ApiViewSet
):
    serializer_class = s.ImportJobSerializer
    ordering_fields = ["id", "created_at"]
    required_scopes = {"*": [Scope.KEYS_IMPORT]}

    def get_queryset(self):
        return (
            # ApiKeyAuthentication puts the ApiKey row in request.auth
            ImportJob.objects.filter(api_key=cast(ApiKey, self.request.auth))
            .select_related("product")
            .order_by("-id")
        )

    def create(self, request, *args, **kwargs):
        form = s.ImportRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        job = services.import_job_create(
            api_key=request.auth,
            product=data["product"],
            codes=data["lines"],
            source_name=data.get("source_name") or "api",
            fmt=data["fmt"],
            batch=data.get("batch"),
            supplier_name=data.get("supplier", ""),
            cost_per_key=data.get("cost_per_key"),
            currency=data.get("currency", ""),
            reference=data.get("reference", ""),
            inline_max=settings.API_IMPORT_INLINE_MAX,
        )
        code = status.HTTP_201_CREATED if job.finished_at else status.HTTP_202_ACCEPTED
        return Response(s.ImportJobSerializer(job).data, status=code)


# --------------------------------------------------------------------------- orders


@extend_schema_view(
    list=extend_schema(
        summary="Orders",
        parameters=[
            _param("status", "Only this status.", enum=OrderStatus.values),
            _param("email", "Only this billing email (case-insensitive)."),
            _param("created_after", "Created at or after (ISO 8601).", OpenApiTypes.DATETIME),
            _param("created_before", "Created before (ISO 8601).", OpenApiTypes.DATETIME),
        ],
        responses={200: s.OrderSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One order with its lines and masked keys (never a code)",
        responses={200: s.OrderDetailSerializer, **READ_ERRORS},
    ),
)
class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = s.OrderSerializer
    lookup_field = "number"
    lookup_value_regex = "[A-Za-z0-9-]+"
    ordering_fields = ["created_at", "paid_at", "total", "number"]
    required_scopes = {"keys": [Scope.ORDERS_READ, Scope.KEYS_REVEAL], "*": [Scope.ORDERS_READ]}

    def get_queryset(self):
        params = self.request.query_params
        self._choice(params.get("status"), OrderStatus.values, "status")
        qs = Order.objects.order_by("-created_at")
        qs = self._filter(qs, status="status", email="email__iexact")
        for name, lookup in (
            ("created_after", "created_at__gte"),
            ("created_before", "created_at__lt"),
        ):
            value = params.get(name)
            if value:
                try:
                    moment = parse_datetime(value)
                    if moment is not None:  # to UTC: PostgreSQL refuses odd offsets
                        if timezone.is_naive(moment):
                            moment = timezone.make_aware(moment)
                        moment = moment.astimezone(UTC)
                except (ValueError, OverflowError):
                    moment = None
                if moment is None:
                    raise DRFValidationError({name: ["Use an ISO 8601 date and time."]})
                qs = qs.filter(**{lookup: moment})
        if self.action != "list":
            lines = OrderLine.objects.select_related("product").prefetch_related(
                Prefetch("keys", queryset=Key.objects.order_by("id"))
            )
            qs = qs.prefetch_related(Prefetch("lines", queryset=lines.order_by("id")))
        return qs

    def get_serializer_class(self):
        return s.OrderDetailSerializer if self.action == "retrieve" else s.OrderSerializer

    @extend_schema(
        summary="The order's delivered key codes (needs keys:reveal; every code shown is audited)",
        responses={200: s.RevealedKeySerializer(many=True), **READ_ERRORS},
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def keys(self, request, number=None):
        order = self.get_object()
        rows = []
        keys = Key.objects.filter(order_line__order=order, status=KeyStatus.DELIVERED)
        for key in keys.select_related("product").order_by("order_line_id", "id"):
            try:
                code = key_services.key_reveal(
                    key=key,
                    channel=ViewChannel.API,
                    ip=client_ip_get(request=request),
                    user_agent=user_agent_get(request=request),
                    user=request.user,
                    reason=f"API key {request.auth.prefix} ({request.auth.name})",
                )
            except KeyDecryptionError:
                code = None
            rows.append(
                {
                    "id": key.pk,
                    "order_line": key.order_line_id,
                    "product_sku": key.product.sku,
                    "code": code,
                }
            )
        return no_store(Response(s.RevealedKeySerializer(rows, many=True).data))


@extend_schema_view(
    list=extend_schema(
        summary="Refunds",
        parameters=[
            _param("status", "Only this status.", enum=RefundStatus.values),
            _param("order", "Only refunds of this order number."),
        ],
        responses={200: s.RefundSerializer(many=True), **LIST_ERRORS},
    ),
)
class RefundViewSet(mixins.ListModelMixin, ApiViewSet):
    serializer_class = s.RefundSerializer
    ordering_fields = ["created_at", "amount"]
    required_scopes = {"*": [Scope.ORDERS_READ]}

    def get_queryset(self):
        self._choice(self.request.query_params.get("status"), RefundStatus.values, "status")
        qs = Refund.objects.select_related("order").order_by("-created_at", "-id")
        return self._filter(qs, status="status", order="order__number")


# --------------------------------------------------------------------------- claims


@extend_schema_view(
    list=extend_schema(
        summary="Claims",
        parameters=[
            _param("status", "Only this status.", enum=ClaimStatus.values),
            _param("order", "Only claims on this order number."),
        ],
        responses={200: s.ClaimSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One claim with its messages",
        responses={200: s.ClaimDetailSerializer, **READ_ERRORS},
    ),
)
class ClaimViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = s.ClaimSerializer
    lookup_field = "number"
    lookup_value_regex = "[A-Za-z0-9-]+"
    ordering_fields = ["created_at", "updated_at"]
    required_scopes = {"*": [Scope.CLAIMS]}

    def get_queryset(self):
        self._choice(self.request.query_params.get("status"), ClaimStatus.values, "status")
        qs = Claim.objects.select_related("order", "key").order_by("-created_at", "-id")
        qs = self._filter(qs, status="status", order="order__number")
        if self.action == "retrieve":
            qs = qs.prefetch_related("messages")
        return qs

    def get_serializer_class(self):
        return s.ClaimDetailSerializer if self.action == "retrieve" else s.ClaimSerializer

    @extend_schema(
        summary="Write to the customer on this claim (emailed to them)",
        request=s.ClaimMessageCreateSerializer,
        responses={201: s.ClaimMessageSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def messages(self, request, number=None):
        claim = get_object_or_404(Claim, number=number)
        form = s.ClaimMessageCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            message = refund_services.claim_message_post(
                claim=claim,
                author_role=MessageAuthor.STAFF,
                author=request.user,
                body=form.validated_data["body"],
            )
        except refund_services.ClaimError as exc:
            raise DRFValidationError({"body": [str(exc)]})
        return Response(s.ClaimMessageSerializer(message).data, status=status.HTTP_201_CREATED)


# --------------------------------------------------------------------------- webhooks


@extend_schema_view(
    list=extend_schema(
        summary="Webhook endpoints (never their secrets)",
        responses={200: s.WebhookEndpointSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One webhook endpoint", responses={200: s.WebhookEndpointSerializer, **READ_ERRORS}
    ),
    create=extend_schema(
        summary="Register an endpoint; the answer carries its signing secret, this once",
        request=s.WebhookEndpointWriteSerializer,
        responses={201: s.WebhookEndpointCreatedSerializer, **ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change name, URL, format or events",
        request=s.WebhookEndpointWriteSerializer(partial=True),
        responses={200: s.WebhookEndpointSerializer, **ERRORS},
    ),
)
class WebhookEndpointViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = s.WebhookEndpointSerializer
    ordering_fields = ["id", "name", "created_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    required_scopes = {"*": [Scope.WEBHOOKS]}

    def get_queryset(self):
        return WebhookEndpoint.objects.order_by("id")

    def create(self, request, *args, **kwargs):
        form = s.WebhookEndpointWriteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_save(actor=request.user, data=form.validated_data)
        return no_store(
            Response(
                s.WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED
            )
        )

    def partial_update(self, request, *args, **kwargs):
        endpoint = self.get_object()
        form = s.WebhookEndpointWriteSerializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_save(
            actor=request.user, data=form.validated_data, endpoint=endpoint
        )
        return Response(s.WebhookEndpointSerializer(endpoint).data)

    @extend_schema(
        summary="Enable (and reset the failure count)",
        request=None,
        responses={200: s.WebhookEndpointSerializer, **READ_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def enable(self, request, pk=None):
        endpoint = webhook_endpoint_enable(endpoint=self.get_object())
        services.admin_log(actor=request.user, obj=endpoint, message="Enabled")
        return Response(s.WebhookEndpointSerializer(endpoint).data)

    @extend_schema(
        summary="Disable", request=None, responses={200: s.WebhookEndpointSerializer, **READ_ERRORS}
    )
    @action(detail=True, methods=["post"])
    def disable(self, request, pk=None):
        endpoint = webhook_endpoint_disable(
            endpoint=self.get_object(), reason="disabled through the API"
        )
        services.admin_log(actor=request.user, obj=endpoint, message="Disabled through the API")
        return Response(s.WebhookEndpointSerializer(endpoint).data)
