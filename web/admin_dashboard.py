"""The admin's front page: the dashboard above Django's app list."""

from __future__ import annotations

from django.utils import timezone

from .dashboard import dashboard_get


def admin_index_with_dashboard(index):
    """Wrap ``AdminSite.index`` so that staff who may see orders get the dashboard, on
    the store's clock (StoreTimeZoneMiddleware activated the preset's zone)."""

    def view(request, extra_context=None):
        context = dict(extra_context or {})
        if request.user.has_perm("orders.view_order"):
            context["dashboard"] = dashboard_get(
                period_key=request.GET.get("period"),
                now=timezone.now(),
                tz=timezone.get_current_timezone(),
            )
        return index(request, extra_context=context)

    return view
