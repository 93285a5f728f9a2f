"""The claim list: its filters and the change list that computes each row's live
recommendation and time zone for the whole page at once.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.admin_filters import NewestRelatedListFilter
from policies.models import PolicyPreset
from policies.rules import preset_slugs_shipped
from policies.selectors import preset_active_cached_get

from ..models import OPEN_CLAIM_STATUSES, Claim
from ..selectors import claims_recommendations_get
from ._common import _preset_tz


class DeadlineFilter(admin.SimpleListFilter):
    title = _("verification deadline")
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [
            ("overdue", _("Overdue")),
            ("soon", _("Due within 24 hours")),
            ("later", _("Later")),
            ("none", _("No deadline")),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        open_q = Q(status__in=OPEN_CLAIM_STATUSES)
        if self.value() == "overdue":
            return queryset.filter(open_q, verification_due_at__lt=now)
        if self.value() == "soon":
            return queryset.filter(
                open_q,
                verification_due_at__gte=now,
                verification_due_at__lt=now + timedelta(hours=24),
            )
        if self.value() == "later":
            return queryset.filter(open_q, verification_due_at__gte=now + timedelta(hours=24))
        if self.value() == "none":
            return queryset.filter(verification_due_at__isnull=True)
        return queryset


class AssigneeFilter(admin.SimpleListFilter):
    title = _("assigned to")
    parameter_name = "assignee"

    def lookups(self, request, model_admin):
        others = (
            get_user_model()
            .objects.filter(
                pk__in=Claim.objects.filter(assignee__isnull=False).values("assignee_id")
            )
            .exclude(pk=request.user.pk)
        )
        return [
            ("me", _("Me")),
            ("none", _("Nobody")),
            ("queue", _("Me or nobody (my queue)")),
            *((str(u.pk), str(u)) for u in others.order_by("email")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "me":
            return queryset.filter(assignee=request.user)
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value == "queue":
            return queryset.filter(Q(assignee__isnull=True) | Q(assignee=request.user))
        if value and value.isdigit():
            return queryset.filter(assignee_id=int(value))
        return queryset


class ProductFilter(NewestRelatedListFilter):
    """The newest products; the default would collect every claim's product first."""


class BatchFilter(NewestRelatedListFilter):
    """The newest batches, named with their product and supplier read in the same query
    (a batch's name needs both)."""

    related_select = ("product", "supplier")


def _preset_choices() -> list[tuple[str, str]]:
    """Every preset a claim may cite: shipped and stored (a handful of rows, never a scan
    of the claims)."""
    stored = dict(PolicyPreset.objects.values_list("slug", "name"))
    return sorted({**{slug: slug for slug in preset_slugs_shipped()}, **stored}.items())


class ClaimChangeList(ChangeList):
    """The claim list, with each row's live recommendation and business time zone computed
    for the whole page at once (a fixed number of queries whatever the page holds)."""

    def get_results(self, request):
        super().get_results(request)
        rows = list(self.result_list)
        # The active preset's rules as this process holds them (no query, no JSON parse
        # while no preset changed: policies.selectors.preset_active_cached_get).
        active = preset_active_cached_get()
        # Only an open claim shows a recommendation (``recommendation_now``).
        answers = (
            claims_recommendations_get(claims=[c for c in rows if c.is_open], preset=active)
            if active is not None
            else {}
        )
        zones = {
            slug: active.calendar.tz
            if active is not None and slug == active.slug
            else _preset_tz(slug)
            for slug in {c.preset_slug for c in rows}
        }
        for claim in rows:
            claim.desk_recommendation = answers.get(claim.pk)
            claim.desk_tz = zones[claim.preset_slug]
        self.result_list = rows
