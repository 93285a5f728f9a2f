"""Invoices and credit notes in the admin: read-only lists with their PDFs, and the VAT
report (per country and rate, for a month, a quarter or chosen dates; CSV)."""

from __future__ import annotations

from datetime import date

from django import forms
from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.exports import csv_rows_stream

from .models import CreditNote, Invoice
from .report import VAT_REPORT_HEADER, period_for, vat_report_build, vat_report_csv_rows
from .selectors import document_filename, document_pdf

VAT_REPORT_PERMISSION = "invoices.view_vat_report"


class ReadOnlyDocumentAdmin(admin.ModelAdmin):
    """Issued documents never change: no add, no change, no delete, for anyone."""

    date_hierarchy = "issued_at"
    list_per_page = 50
    search_fields = ("display_number", "snapshot__buyer__email")
    pdf_url_name = ""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields] + ["pdf_link"]

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        custom = [
            path(
                "<int:pk>/pdf/",
                self.admin_site.admin_view(self.pdf_view),
                name="{}_{}_pdf".format(*info),
            )
        ]
        return custom + super().get_urls()

    def pdf_view(self, request, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        document = get_object_or_404(self.model, pk=pk)
        response = HttpResponse(document_pdf(document=document), content_type="application/pdf")
        response["Content-Disposition"] = (
            f'attachment; filename="{document_filename(document=document)}"'
        )
        response["Cache-Control"] = "private, no-store"
        return response

    @admin.display(description=_("PDF"))
    def pdf_link(self, obj) -> str:
        info = obj._meta.app_label, obj._meta.model_name
        url = reverse("admin:{}_{}_pdf".format(*info), args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download PDF"))


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyDocumentAdmin):
    list_display = ("display_number", "issued_at", "kind", "order", "buyer_country",
                    "tax_treatment", "net_total", "tax_total", "gross_total", "currency",
                    "pdf_link")  # fmt: skip
    list_filter = ("series", "kind", "buyer_country", "tax_treatment", "currency")
    list_select_related = ("order",)
    change_list_template = "admin/invoices/invoice/change_list.html"

    def get_urls(self):
        custom = [
            path(
                "vat-report/",
                self.admin_site.admin_view(self.vat_report_view),
                name="invoices_vat_report",
            )
        ]
        return custom + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_see_vat_report": request.user.has_perm(VAT_REPORT_PERMISSION),
        }
        return super().changelist_view(request, extra_context)

    def vat_report_view(self, request):
        if not request.user.has_perm(VAT_REPORT_PERMISSION):
            raise PermissionDenied
        form = VatReportForm(request.GET or None)
        report = None
        if form.is_bound and form.is_valid():
            start, end = form.period_dates()
            report = vat_report_build(start=start, end=end)
            if request.GET.get("format") == "csv":
                return self._vat_report_csv(request, report)
        context = {
            **self.admin_site.each_context(request),
            "title": _("VAT report"),
            "opts": self.model._meta,
            "form": form,
            "report": report,
            "csv_query": request.GET.urlencode(),
        }
        return TemplateResponse(request, "admin/invoices/vat_report.html", context)

    def _vat_report_csv(self, request, report):
        LogEntry.objects.create(
            user_id=request.user.pk,
            content_type_id=ContentType.objects.get_for_model(Invoice).pk,
            object_id=None,
            object_repr=f"VAT report {report.start} to {report.end}",
            action_flag=CHANGE,
            change_message=f"Downloaded the VAT report ({report.start} to {report.end}) as CSV",
        )
        response = StreamingHttpResponse(
            csv_rows_stream(header=VAT_REPORT_HEADER, rows=vat_report_csv_rows(report=report)),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = (
            f'attachment; filename="vat-report-{report.start}-{report.end}.csv"'
        )
        return response


@admin.register(CreditNote)
class CreditNoteAdmin(ReadOnlyDocumentAdmin):
    list_display = ("display_number", "issued_at", "invoice", "reason", "buyer_country",
                    "net_total", "tax_total", "gross_total", "currency", "pdf_link")  # fmt: skip
    list_filter = ("series", "reason", "buyer_country", "currency")
    list_select_related = ("invoice",)


class VatReportForm(forms.Form):
    PERIODS = [("month", _("Month")), ("quarter", _("Quarter")), ("custom", _("Chosen dates"))]

    period = forms.ChoiceField(label=_("Period"), choices=PERIODS, initial="quarter")
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100, required=False)
    month = forms.IntegerField(label=_("Month"), min_value=1, max_value=12, required=False)
    quarter = forms.IntegerField(label=_("Quarter"), min_value=1, max_value=4, required=False)
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("To (inclusive)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        super().clean()
        data = self.cleaned_data
        kind = data.get("period")
        if kind == "custom":
            if not data.get("start") or not data.get("end"):
                raise forms.ValidationError(_("Choose the first and the last day."))
            if data["start"] > data["end"]:
                raise forms.ValidationError(_("The first day comes after the last day."))
        else:
            if not data.get("year"):
                data["year"] = timezone.localdate().year
            if kind == "month" and not data.get("month"):
                raise forms.ValidationError(_("Choose the month."))
            if kind == "quarter" and not data.get("quarter"):
                raise forms.ValidationError(_("Choose the quarter."))
        return data

    def period_dates(self) -> tuple[date, date]:
        data = self.cleaned_data
        if data["period"] == "custom":
            return data["start"], data["end"]
        return period_for(
            kind=data["period"],
            year=data["year"],
            month=data.get("month") or 1,
            quarter=data.get("quarter") or 1,
        )
