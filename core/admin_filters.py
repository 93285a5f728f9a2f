"""Admin list filters whose cost does not grow with the data, and a cheaper row checkbox.

Django's related-field filter lists every related row (10,000 products, 20,000 batches)
and its "related only" variant first collects every value used in the list, then names
each choice with ``str()``, which may read more rows per choice. The filters here list a
bounded number of choices, named from one query, and field-value filters with fixed
choices instead of a ``SELECT DISTINCT`` over the whole table.
"""

from __future__ import annotations

import contextlib

from django.contrib import admin
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.translation import gettext as _


class NewestRelatedListFilter(admin.RelatedFieldListFilter):
    """The ``limit`` newest related rows (by primary key) and the one chosen, read in one
    query with ``related_select`` selected, since their names use those relations.

    Older rows are still filterable through the same query string (e.g. from a link on
    the related object's own page); only the sidebar is bounded.
    """

    limit = 25
    related_select: tuple[str, ...] = ()

    def field_choices(self, field, request, model_admin):
        model = field.related_model
        rows = list(
            model._default_manager.select_related(*self.related_select).order_by("-pk")[
                : self.limit
            ]
        )
        shown = {str(row.pk) for row in rows}
        chosen = [value for value in (self.lookup_val or []) if value not in shown]
        if chosen:
            # a malformed value is left out here: Django's own lookup reports it
            with contextlib.suppress(ValidationError, ValueError, TypeError):
                rows += list(
                    model._default_manager.select_related(*self.related_select).filter(
                        pk__in=chosen
                    )
                )
        return [(row.pk, str(row)) for row in rows]


def choices_list_filter(*, field: str, title, choices) -> type[admin.SimpleListFilter]:
    """A filter on ``field`` offering ``choices`` (pairs of value and label) as given,
    without reading the table to find which values occur."""

    class ChoicesListFilter(admin.SimpleListFilter):
        parameter_name = field

        def lookups(self, request, model_admin):
            return list(choices() if callable(choices) else choices)

        def queryset(self, request, queryset):
            value = self.value()
            return queryset.filter(**{field: value}) if value else queryset

    ChoicesListFilter.title = title
    ChoicesListFilter.__name__ = f"{field.title().replace('_', '')}ChoicesListFilter"
    return ChoicesListFilter


class ActionCheckboxMixin:
    """The list's row checkbox written directly, with the same markup as Django's:
    Django renders a CheckboxInput through the form template engine for every row, a
    third of the time of a 100-row admin list."""

    def action_checkbox(self, obj):
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            str(obj.pk),
            format_html(_("Select this object for an action - {}"), str(obj)),
        )
