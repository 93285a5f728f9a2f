"""Prepared replies for the claim desk."""

from __future__ import annotations

from django.contrib import admin

from ..models import CannedReply


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    """Prepared replies for the claim desk; managers edit them (refunds.change_cannedreply)."""

    list_display = ("title", "reason", "language", "updated_at")
    list_filter = ("language", "reason")
    search_fields = ("title", "body")
