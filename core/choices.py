"""``get_FOO_display()`` without translating every label of the field on each call.

Django's ``Model._get_FIELD_display`` builds ``dict(make_hashable(field.flatchoices))`` on
every call, and hashing a lazily translated label translates it: a status with twelve
choices costs twelve ``gettext`` calls per row shown (a quarter of the CPU of a list of
claims). :func:`choices_display_speed_up` replaces, on every model, the methods Django
generated (never one a model wrote itself) with one reading a dictionary built once per
field, whose labels stay lazy: only the label shown is translated, in the active language,
as before. Values that cannot be dictionary keys fall back to Django's method.
"""

from __future__ import annotations

from functools import partialmethod
from typing import Any

from django.apps import apps
from django.db import models
from django.utils.encoding import force_str

_labels: dict[Any, dict[Any, Any]] = {}
# Django's own method (private, absent from the type stubs)
_DJANGO_DISPLAY = models.Model._get_FIELD_display  # type: ignore[attr-defined]


def _display(self: models.Model, *, field: models.Field) -> Any:
    labels = _labels.get(field)
    if labels is None:
        labels = _labels[field] = dict(field.flatchoices)
    value = getattr(self, field.attname)
    try:
        label = labels.get(value, value)
    except TypeError:  # an unhashable value (a JSON choice): Django's way
        return _DJANGO_DISPLAY(self, field)
    return force_str(label, strings_only=True)


def choices_display_speed_up() -> None:
    """Swap Django's generated ``get_FOO_display`` of every installed model (once all are
    loaded: called from CoreConfig.ready)."""
    for model in apps.get_models():
        for field in model._meta.fields:
            if not field.choices:
                continue
            name = f"get_{field.name}_display"
            generated = model.__dict__.get(name)
            if isinstance(generated, partialmethod) and generated.func is _DJANGO_DISPLAY:
                setattr(model, name, partialmethod(_display, field=field))
