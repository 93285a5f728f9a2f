"""Claim screenshots in the admin (read-only, with a preview)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ..models import Evidence


@admin.register(Evidence)
class EvidenceAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "claim",
        "original_name",
        "content_type",
        "width",
        "height",
        "size",
        "created_at",
    )
    readonly_fields = [f.name for f in Evidence._meta.fields] + ["preview"]
    search_fields = ("claim__number", "sha256")

    @admin.display(description=_("image"))
    def preview(self, obj: Evidence) -> str:
        url = reverse("refunds:evidence", args=[obj.pk])
        return format_html(
            '<a href="{}"><img src="{}" alt="" style="max-width:480px"></a>', url, url
        )

    def has_add_permission(self, request):
        return False
