"""Reads: the active preset, current policy documents, clause links, checkout consents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _

from core.versioned_cache import versioned_cache_get

from .consents import consent_wording, consent_wording_version
from .models import DocumentKind, PolicyDocument, PolicyPreset
from .rules import PresetRules, preset_rules_shipped


def preset_active_record_get() -> PolicyPreset | None:
    return PolicyPreset.objects.filter(is_active=True).first()


def preset_active_get() -> PresetRules | None:
    """The rules of the shop's active preset, or None when none is active."""
    preset = preset_active_record_get()
    return preset.rules_get() if preset else None


# The process-local copy of the active preset's rules (core.versioned_cache), bumped on
# every change of a preset row (policies.apps: post_save / post_delete).
PRESET_ACTIVE_CACHE = "policies.preset_active"


def preset_active_cached_get() -> PresetRules | None:
    """:func:`preset_active_get` without a query or a JSON parse while no preset changed
    (the rules are immutable; every process reloads on the next read after a change)."""
    return versioned_cache_get(name=PRESET_ACTIVE_CACHE, loader=preset_active_get)


def preset_time_zone_get() -> str:
    """The active preset's time zone, or "" when no preset is active (core.shop_clock)."""
    rules = preset_active_cached_get()
    return rules.calendar.time_zone if rules else ""


def document_current_get(
    *,
    kind: str,
    language: str,
    preset: PolicyPreset | None = None,
    at: datetime | None = None,
) -> PolicyDocument | None:
    """The version of a page in force at ``at`` (now), falling back to English."""
    preset = preset or preset_active_record_get()
    if preset is None:
        return None
    at = at or timezone.now()
    for lang in dict.fromkeys((language, "en")):
        document = (
            PolicyDocument.objects.filter(
                preset=preset, kind=kind, language=lang, effective_at__lte=at
            )
            .order_by("-version")
            .first()
        )
        if document is not None:
            return document
    return None


def documents_current_list(
    *, language: str, preset: PolicyPreset | None = None
) -> list[PolicyDocument]:
    """One current document per kind, in the order of ``DocumentKind``."""
    found = (
        document_current_get(kind=kind, language=language, preset=preset)
        for kind in DocumentKind.values
    )
    return [d for d in found if d is not None]


def document_history_list(
    *, kind: str, language: str, preset: PolicyPreset | None = None
) -> list[PolicyDocument]:
    """Every published version of a page, newest first."""
    preset = preset or preset_active_record_get()
    if preset is None:
        return []
    return list(
        PolicyDocument.objects.filter(preset=preset, kind=kind, language=language).order_by(
            "-version"
        )
    )


def _rules_for_clause(clause_id: str) -> PresetRules | None:
    slug = clause_id.split(".", 1)[0]
    stored = PolicyPreset.objects.filter(slug=slug).first()
    if stored is not None:
        return stored.rules_get()
    try:
        return preset_rules_shipped(slug)
    except LookupError:
        return None


def document_version_get(
    *, preset: PolicyPreset, kind: str, language: str, version: int
) -> PolicyDocument | None:
    """One published version of a policy page (what a customer accepted), or None."""
    return PolicyDocument.objects.filter(
        preset=preset, kind=kind, language=language, version=version
    ).first()


def document_version_url(*, document: PolicyDocument) -> str:
    """The permanent link to exactly this version of a policy page."""
    return reverse("policies:document", kwargs={"kind": document.kind}) + (
        f"?version={document.version}"
    )


def clause_url(*, clause_id: str) -> str:
    """The link to a clause on its policy page: ``/policies/<kind>/#clause-<id>``."""
    rules = _rules_for_clause(clause_id)
    clause = rules.clause_get(clause_id) if rules else None
    if clause is None:
        return reverse("policies:index")
    return reverse("policies:document", kwargs={"kind": clause.document}) + f"#clause-{clause_id}"


@dataclass(frozen=True)
class ConsentRequirement:
    kind: str
    required: bool
    wording: str
    wording_version: str
    clause_id: str
    clause_url: str
    document: PolicyDocument | None


def checkout_consents_get(*, language: str) -> list[ConsentRequirement]:
    """The checkboxes checkout must show under the active preset, in ``language``."""
    preset = preset_active_record_get()
    if preset is None:
        return []
    rules = preset.rules_get()
    requirements = []
    for consent in rules.checkout_consents:
        clause = rules.clause_get(consent.clause)
        requirements.append(
            ConsentRequirement(
                kind=consent.kind,
                required=consent.required,
                wording=consent_wording(kind=consent.kind, language=language),
                wording_version=consent_wording_version(kind=consent.kind, language=language),
                clause_id=consent.clause,
                clause_url=clause_url(clause_id=consent.clause),
                document=document_current_get(
                    kind=clause.document if clause else "terms", language=language, preset=preset
                ),
            )
        )
    return requirements


@dataclass(frozen=True)
class ShopChoiceView:
    field: str
    label: str
    value: str
    note: str  # for the merchant (admin), from the preset data


def _shop_choice_labels() -> dict[str, str]:
    return {
        "calendar.time_zone": _("Time zone"),
        "calendar.working_days": _("Working days"),
        "calendar.opening_hours": _("Opening hours"),
        "verification.amount": _("Verification time"),
        "delivery.non_delivery_deadline_hours": _("Non-delivery deadline (hours)"),
    }


def shop_choices_get(*, rules: PresetRules) -> list[ShopChoiceView]:
    """The preset settings the seed does not state: each is the shop's own choice."""
    calendar = rules.calendar
    closes = calendar.closes.strftime("%H:%M") if calendar.closes else "24:00"
    values = {
        "calendar.time_zone": calendar.time_zone,
        "calendar.working_days": ", ".join(str(WEEKDAYS[d]) for d in calendar.working_days),
        "calendar.opening_hours": f"{calendar.opens:%H:%M}–{closes}",
        "verification.amount": f"{rules.verification.amount} {rules.verification.unit}",
        "delivery.non_delivery_deadline_hours": str(rules.delivery.non_delivery_deadline_hours),
    }
    labels = _shop_choice_labels()
    return [
        ShopChoiceView(field=c.field, label=labels[c.field], value=values[c.field], note=c.note)
        for c in rules.shop_choices
    ]
