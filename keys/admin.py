"""Staff screens for the key inventory. Codes appear masked (last 4) everywhere; the one
place a code is shown is the audited reveal view, which needs `keys.reveal_key_code`."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from core.admin_filters import ActionCheckboxMixin, NewestRelatedListFilter
from core.admin_inlines import ReadOnlyInline, has_perm_method
from core.admin_paginator import EstimatedCountPaginator
from core.exports import ExportAdminMixin
from core.http import client_ip_get, user_agent_get

from . import services
from .crypto import KeyDecryptionError, code_fingerprint
from .forms import KeyImportForm, ReasonForm
from .http import no_store
from .importfile import text_lines
from .models import Key, KeyBatch, KeyBatchEvent, KeyEvent, KeyImport, KeyView, Supplier
from .selectors import (
    batch_defect_rate,
    batch_list_with_stats,
    batch_stats_get,
    supplier_defect_rate_by_month,
)


class KeyEventInline(ReadOnlyInline):
    model = KeyEvent
    fields = readonly_fields = (
        "created_at",
        "actor",
        "kind",
        "from_status",
        "to_status",
        "reason",
        "order",
        "reference",
    )


class KeyViewInline(ReadOnlyInline):
    model = KeyView
    fields = readonly_fields = (
        "created_at",
        "channel",
        "user",
        "guest_email",
        "ip",
        "user_agent",
        "first_view",
        "reason",
    )


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = ("name", "contact_email", "defect_quarantine_percent", "defect_min_sample",
                    "created_at")  # fmt: skip
    search_fields = ("name", "contact_email")
    readonly_fields = ("defect_history",)

    @admin.display(description=_("defect rate per month"))
    def defect_history(self, obj):
        """Keys sold per month of delivery and the share now confirmed defective, as a
        table with a bar per month (SVG width attributes: no inline style under the CSP)."""
        if obj is None or obj.pk is None:
            return "–"
        rows = supplier_defect_rate_by_month(supplier_id=obj.pk, tz=timezone.get_current_timezone())
        if not rows:
            return _("No keys of this supplier were sold yet.")
        threshold = obj.defect_quarantine_percent
        body = format_html_join(
            "",
            '<tr><td>{}</td><td>{}</td><td>{}</td><td class="defect-rate">{}%</td>'
            '<td><svg width="200" height="12" role="presentation" aria-hidden="true">'
            '<rect width="{}" height="12" fill="{}"></rect></svg></td></tr>',
            (
                (
                    f"{row['month']:%Y-%m}",
                    row["sold"],
                    row["defective"],
                    f"{row['rate']:.1f}",
                    str(round(min(row["rate"], 100) * 2, 1)),
                    "#c0392b" if threshold is not None and row["rate"] >= threshold else "#417690",
                )
                for row in rows
            ),
        )
        return format_html(
            '<table id="defect-history"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th>'
            "<th></th></tr></thead><tbody>{}</tbody></table>",
            _("month delivered"),
            _("sold"),
            _("confirmed defective"),
            _("rate"),
            body,
        )


class ProductListFilter(NewestRelatedListFilter):
    """The newest products (a shop may sell 10,000): older ones through their own page."""


class BatchListFilter(NewestRelatedListFilter):
    """The newest batches, named with their product and supplier read in the same query;
    any batch's keys are one link away on the batch list ("keys")."""

    related_select = ("product", "supplier")


def _batch_stats_set(*, batches: list[KeyBatch]) -> None:
    """Give each batch its key counts (``received``, ``sold``...) from one query."""
    stats = batch_stats_get(batch_ids=[batch.pk for batch in batches])
    for batch in batches:
        for name, value in vars(stats[batch.pk]).items():
            setattr(batch, name, value)


class KeyBatchChangeList(ChangeList):
    """The batch list counts the keys of its page's batches in one grouped query (the
    counts are only named in the list's query, for sorting by them)."""

    def get_results(self, request):
        super().get_results(request)
        rows = list(self.result_list)
        _batch_stats_set(batches=rows)
        self.result_list = rows


class KeyBatchEventInline(ReadOnlyInline):
    model = KeyBatchEvent
    fields = readonly_fields = ("created_at", "actor", "kind", "reason")


@admin.register(KeyBatch)
class KeyBatchAdmin(ActionCheckboxMixin, ExportAdminMixin, admin.ModelAdmin):
    # a page costs the same at any size: 50 rows (Django renders each cell in Python) and a
    # count that stops being exact past 10,000 rows (core.admin_paginator)
    list_per_page = 50
    paginator = EstimatedCountPaginator
    list_display = (
        "__str__",
        "product",
        "cost_per_key",
        "currency",
        "expires_on",
        "received_count",
        "sold_count",
        "defective_count",
        "defect_rate",
        "unsold_count",
        "is_quarantined",
        "keys_link",
    )
    list_filter = (
        "is_quarantined",
        ("received_at", admin.DateFieldListFilter),
        "supplier",
        ("product", ProductListFilter),
    )
    list_select_related = ("supplier", "product")
    show_full_result_count = False
    search_fields = ("reference", "supplier__name", "product__name", "product__sku")
    # no date_hierarchy: a SELECT DISTINCT over every batch per page; the date filter instead
    readonly_fields = (
        "received_count",
        "sold_count",
        "reserved_count",
        "defective_count",
        "defect_rate",
        "unsold_count",
        "is_quarantined",
        "quarantine_reason",
        "quarantined_at",
        "import_link",
    )
    inlines = [KeyBatchEventInline]
    actions = ["quarantine_batches", "lift_quarantine"]

    has_quarantine_batch_permission = has_perm_method("keys.quarantine_batch")

    # Keys sold per batch; counts only, never a code.
    export_permission = "refunds.export_data"
    export_columns = (
        ("batch", lambda b: b.pk),
        ("reference", lambda b: b.reference),
        ("supplier", lambda b: b.supplier.name),
        ("product_sku", lambda b: b.product.sku),
        ("product", lambda b: b.product.name),
        ("received_at", lambda b: b.received_at),
        ("cost_per_key", lambda b: b.cost_per_key),
        ("currency", lambda b: b.currency),
        ("received", lambda b: b.received),
        ("sold", lambda b: b.sold),
        ("reserved", lambda b: b.reserved),
        ("defective", lambda b: b.defective),
        ("unsold", lambda b: b.unsold),
        ("quarantined", lambda b: b.is_quarantined),
    )

    def get_queryset(self, request):
        # the counts are named for sorting; the page's and a batch's own are read apart
        return batch_list_with_stats(queryset=super().get_queryset(request), select=False)

    def get_changelist(self, request, **kwargs):
        return KeyBatchChangeList

    def get_object(self, request, object_id, from_field=None):
        batch = super().get_object(request, object_id, from_field)
        if batch is not None:
            _batch_stats_set(batches=[batch])
        return batch

    def export_queryset(self, request):
        return batch_list_with_stats(queryset=super().export_queryset(request))

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:  # a batch's product and supplier are fixed once it exists
            return ("supplier", "product", *self.readonly_fields)
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("received"), ordering="received")
    def received_count(self, obj):
        return getattr(obj, "received", 0)

    @admin.display(description=_("sold"), ordering="sold")
    def sold_count(self, obj):
        return getattr(obj, "sold", 0)

    @admin.display(description=_("reserved"))
    def reserved_count(self, obj):
        return getattr(obj, "reserved", 0)

    @admin.display(description=_("defective"), ordering="defective")
    def defective_count(self, obj):
        return getattr(obj, "defective", 0)

    @admin.display(description=_("defect rate"))
    def defect_rate(self, obj):
        rate = batch_defect_rate(
            received=getattr(obj, "received", 0), defective=getattr(obj, "defective", 0)
        )
        return f"{rate:.1%}"

    @admin.display(description=_("unsold (withdrawn if quarantined)"))
    def unsold_count(self, obj):
        return getattr(obj, "unsold", 0)

    @admin.display(description=_("keys"))
    def keys_link(self, obj):
        url = reverse("admin:keys_key_changelist") + f"?batch__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Keys"))

    @admin.display(description=_("import"))
    def import_link(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        url = reverse("admin:keys_key_import")
        return format_html(
            '<a href="{}?product={}&amp;batch={}">{}</a>',
            url,
            obj.product_id,
            obj.pk,
            _("Import keys into this batch"),
        )

    def _batch_action(self, request, queryset, *, service, title, done, log):
        if "apply" in request.POST:
            form = ReasonForm(request.POST)
            if form.is_valid():
                reason = form.cleaned_data["reason"]
                for batch in queryset:
                    service(batch=batch, reason=reason, actor=request.user)
                    self.log_change(request, batch, f"{log}: {reason}")
                self.message_user(request, done, messages.SUCCESS)
                return None
        else:
            form = ReasonForm()
        return TemplateResponse(
            request,
            "keys/admin/batch_action.html",
            {
                **self.admin_site.each_context(request),
                "title": title,
                "batches": queryset,
                "form": form,
                "action": request.POST.get("action"),
                "opts": self.model._meta,
            },
        )

    @admin.action(
        description=_("Quarantine: withdraw unsold keys from sale"),
        permissions=["quarantine_batch"],
    )
    def quarantine_batches(self, request, queryset):
        return self._batch_action(
            request,
            queryset,
            service=services.batch_quarantine,
            title=_("Quarantine batches"),
            done=_("The batches are quarantined; their unsold keys are withdrawn from sale."),
            log="Quarantined",
        )

    @admin.action(
        description=_("Lift quarantine: put unsold keys back on sale"),
        permissions=["quarantine_batch"],
    )
    def lift_quarantine(self, request, queryset):
        return self._batch_action(
            request,
            queryset,
            service=services.batch_quarantine_lift,
            title=_("Lift quarantine"),
            done=_("The quarantine is lifted; the unsold keys are on sale again."),
            log="Lifted the quarantine",
        )


@admin.register(Key)
class KeyAdmin(admin.ModelAdmin):
    # a page costs the same at any size: 50 rows (Django renders each cell in Python) and a
    # count that stops being exact past 10,000 rows (core.admin_paginator)
    list_per_page = 50
    paginator = EstimatedCountPaginator
    list_display = (
        "id",
        "masked_code",
        "product",
        "batch",
        "status",
        "order_number",
        "delivered_at",
        "first_viewed_at",
    )
    # Bounded filters: the default ones list every product and name every batch with two
    # more queries each (9,000 queries at 20,000 batches).
    list_filter = ("status", ("product", ProductListFilter), ("batch", BatchListFilter))
    # The batch (named with its product and supplier) is read for the page's keys in a
    # query of its own (get_queryset): joined here too, PostgreSQL spent 2.4 ms planning the
    # six joins of every page, more than running it.
    list_select_related = ("product", "order_line__order")
    show_full_result_count = False
    search_fields = ("id",)
    search_help_text = _("Paste a whole code (matched by fingerprint), its last 4, or a key id.")
    fields = readonly_fields = (
        "masked_code",
        "reveal_link",
        "product",
        "batch",
        "status",
        "order_line",
        "replaces",
        "import_run",
        "import_line",
        "first_viewed_at",
        "delivered_at",
        "status_changed_at",
        "created_at",
    )
    inlines = [KeyEventInline, KeyViewInline]
    change_list_template = "keys/admin/key_change_list.html"

    def has_add_permission(self, request):
        return False  # keys arrive through the import only

    def has_change_permission(self, request, obj=None):
        return False  # status changes go through the services, never a form

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        batches = KeyBatch.objects.select_related("product", "supplier")
        return super().get_queryset(request).prefetch_related(Prefetch("batch", queryset=batches))

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        query = Q(fingerprint=code_fingerprint(term))
        if len(term) == 4:
            query |= Q(last4=term.upper())
        if term.isdigit():
            query |= Q(pk=int(term))
        return queryset.filter(query), False

    @admin.display(description=_("code"))
    def masked_code(self, obj):
        return obj.masked

    @admin.display(description=_("order"), ordering="order_line__order__number")
    def order_number(self, obj):
        return obj.order_line.order.number if obj.order_line_id else "-"

    @admin.display(description=_("reveal"))
    def reveal_link(self, obj):
        url = reverse("admin:keys_key_reveal", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Reveal the code (audited)"))

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.import_view), name="keys_key_import"),
            path("<int:pk>/reveal/", wrap(self.reveal_view), name="keys_key_reveal"),
            *super().get_urls(),
        ]

    @sensitive_variables()  # error reports never show the revealed code
    def reveal_view(self, request, pk):
        if not request.user.has_perm("keys.reveal_key_code"):
            raise PermissionDenied
        key = get_object_or_404(Key.objects.select_related("product"), pk=pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reveal key #%(id)s") % {"id": key.pk},
            "key": key,
            "opts": self.model._meta,
            "code": None,
            "error": None,
        }
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                context["code"] = services.key_reveal(
                    key=key,
                    channel="staff",
                    ip=client_ip_get(request=request),
                    user_agent=user_agent_get(request=request),
                    user=request.user,
                    reason=form.cleaned_data["reason"],
                )
                self.log_change(
                    request, key, f"Revealed the code (audited): {form.cleaned_data['reason']}"
                )
            except KeyDecryptionError:
                context["error"] = _(
                    "This code cannot be decrypted: its stored value was altered or was "
                    "encrypted with a key that is no longer configured. Mark the key "
                    "defective and tell the operator."
                )
        context["form"] = form
        return no_store(TemplateResponse(request, "keys/admin/reveal.html", context))

    @sensitive_variables()
    def import_view(self, request):
        if not request.user.has_perm("keys.import_keys"):
            raise PermissionDenied
        report = batch = None
        if request.method == "POST":
            form = KeyImportForm(request.POST, request.FILES)
            if form.is_valid():
                batch, report = self._import(request, form.cleaned_data)
                if report.ok:
                    self.log_change(request, batch, f"Imported keys: {report.message}")
                    self.message_user(request, report.message, messages.SUCCESS)
                    return redirect("admin:keys_keybatch_change", batch.pk)
        else:
            form = KeyImportForm(initial=request.GET.dict())
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import keys"),
            "form": form,
            "report": report,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "keys/admin/import.html", context)

    @staticmethod
    def _import(request, data):
        upload = data["file"]
        upload.seek(0)
        lines = text_lines(stream=upload.file)
        if data["batch"] is not None:
            report = services.key_import(
                product=data["product"],
                batch=data["batch"],
                lines=lines,
                source_name=upload.name,
                actor=request.user,
                fmt=data["format"],
            )
            return data["batch"], report
        return services.batch_create_and_import(
            product=data["product"],
            supplier=data["supplier"],
            cost_per_key=data["cost_per_key"],
            currency=data["currency"].upper(),
            reference=data["reference"],
            expires_on=data["expires_on"],
            lines=lines,
            source_name=upload.name,
            actor=request.user,
            fmt=data["format"],
        )


@admin.register(KeyImport)
class KeyImportAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "source_name",
        "product",
        "batch",
        "outcome",
        "imported",
        "bad_lines",
        "actor",
    )
    list_filter = ("outcome", "product")
    fields = readonly_fields = list_display + ("lines_read",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
