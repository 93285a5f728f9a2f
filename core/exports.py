"""CSV exports of admin lists: the list's own filters, search and ordering, for staff with
the export permission, one admin log entry per export, and cells made safe to open in a
spreadsheet (a cell starting with = + - @ or a control character gets a leading quote, so
it is read as text, never as a formula).

Generic on purpose (``core`` imports no other app): a ``ModelAdmin`` mixes in
``ExportAdminMixin`` and names its ``export_permission`` and ``export_columns``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.urls import path
from django.utils import timezone

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

    # For the type checker the mixin is a ModelAdmin (its model, admin_site, views).
    _AdminBase = ModelAdmin[Any]
else:
    _AdminBase = object

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell_safe(value: Any) -> str:
    """``value`` as CSV text that no spreadsheet evaluates as a formula."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)  # a number is data, never a formula (-12.50 stays a number)
    if hasattr(value, "isoformat"):
        value = value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_rows_stream(*, header: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    """The CSV text, one line at a time (a UTF-8 BOM first, for spreadsheet programs)."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([csv_cell_safe(h) for h in header])
    for row in rows:
        yield writer.writerow([csv_cell_safe(cell) for cell in row])


Column = tuple[str, Callable[[Any], Any]]


class ExportAdminMixin(_AdminBase):
    """Adds ``<changelist>/export/csv/`` (same query string as the list) and its button."""

    export_permission: str = ""
    export_columns: tuple[Column, ...] = ()
    export_select_related: tuple[str, ...] = ()
    change_list_template = "admin/export_change_list.html"

    def export_allowed(self, request) -> bool:
        return bool(self.export_permission) and request.user.has_perm(self.export_permission)

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        custom = [
            path(
                "export/csv/",
                self.admin_site.admin_view(self.export_csv_view),
                name="{}_{}_export_csv".format(*info),
            )
        ]
        return custom + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_export": self.export_allowed(request)}
        return super().changelist_view(request, extra_context)

    def export_queryset(self, request):
        """The rows the list shows with its current filters, search and ordering (all
        pages)."""
        changelist = self.get_changelist_instance(request)
        queryset = changelist.get_queryset(request)
        if self.export_select_related:
            queryset = queryset.select_related(*self.export_select_related)
        return queryset

    def export_csv_view(self, request):
        if not self.export_allowed(request) or not self.has_view_or_change_permission(request):
            raise PermissionDenied
        queryset = self.export_queryset(request)
        count = queryset.count()
        opts = self.model._meta
        LogEntry.objects.create(
            user_id=request.user.pk,
            content_type_id=ContentType.objects.get_for_model(self.model).pk,
            object_id=None,
            object_repr=f"export of {count} {opts.verbose_name_plural}"[:200],
            action_flag=CHANGE,
            change_message=f"Exported {count} rows as CSV; filters: "
            f"{request.GET.urlencode() or 'none'}",
        )
        header = [str(title) for title, _get in self.export_columns]
        rows = (
            [get(obj) for _title, get in self.export_columns]
            for obj in queryset.iterator(chunk_size=2000)
        )
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response = StreamingHttpResponse(
            csv_rows_stream(header=header, rows=rows), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{opts.model_name}-{stamp}.csv"'
        return response
