"""Writes: loading presets and their documents, choosing the active preset, consents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.identity import shop_identity_get
from core.shop_clock import shop_time_zone_cache_clear

from .documents import Contact, documents_build
from .models import PolicyAcceptance, PolicyDocument, PolicyPreset
from .rules import preset_data_read, rules_parse
from .selectors import checkout_consents_get


@dataclass(frozen=True)
class PresetLoadResult:
    preset: PolicyPreset
    created: bool
    rules_changed: bool
    documents_published: int


@transaction.atomic
def preset_load(
    *, slug: str, activate: bool = False, now: datetime | None = None
) -> PresetLoadResult:
    """Load the shipped preset ``slug`` and its documents; loading again changes nothing.

    The rules are reset to the shipped file. A document gets a new version only when its
    text differs from the latest version (history is never rewritten).
    Raises ``LookupError`` for an unknown slug and ``PresetError`` for invalid data.
    """
    now = now or timezone.now()
    data = preset_data_read(slug)
    rules = rules_parse(data)
    preset, created = PolicyPreset.objects.select_for_update().get_or_create(
        slug=slug, defaults={"name": rules.name, "rules": data}
    )
    rules_changed = not created and (preset.rules != data or preset.name != rules.name)
    if rules_changed:
        preset.rules, preset.name = data, rules.name
        preset.save(update_fields=["rules", "name", "updated_at"])

    published = _documents_publish(
        preset=preset,
        rules=rules,
        contact=shop_identity_get(use_cache=False),
        now=now,
        note="Updated wording",
    )

    if activate and not preset.is_active:
        preset = preset_activate(preset=preset)
    return PresetLoadResult(preset, created, rules_changed, published)


def _documents_publish(
    *, preset: PolicyPreset, rules, contact: Contact, now: datetime, note: str
) -> int:
    """Publish a new version of each page whose text changed; returns how many."""
    published = 0
    for (kind, language), body in documents_build(rules, contact=contact).items():
        latest = (
            PolicyDocument.objects.filter(preset=preset, kind=kind, language=language)
            .order_by("-version")
            .first()
        )
        title = body.pop("title")
        if latest is not None and latest.body == body and latest.title == title:
            continue
        PolicyDocument.objects.create(
            preset=preset,
            kind=kind,
            language=language,
            version=(latest.version + 1) if latest else 1,
            effective_at=now,
            title=title,
            body=body,
            change_note="First publication" if latest is None else note,
        )
        published += 1
    return published


def documents_republish_for_contact(*, identity: Contact) -> int:
    """The shop's support contact changed: publish new versions of every loaded preset's
    pages that quote it (registered with ``core`` in ``PoliciesConfig.ready``)."""
    now = timezone.now()
    return sum(
        _documents_publish(
            preset=preset,
            rules=preset.rules_get(),
            contact=identity,
            now=now,
            note="Updated contact details",
        )
        for preset in PolicyPreset.objects.select_for_update().order_by("pk")
    )


@transaction.atomic
def preset_activate(*, preset: PolicyPreset) -> PolicyPreset:
    """Make ``preset`` the shop's only active preset."""
    locked = list(PolicyPreset.objects.select_for_update().filter(is_active=True))
    for other in locked:
        if other.pk != preset.pk:
            other.is_active = False
            other.save(update_fields=["is_active", "updated_at"])
    preset.refresh_from_db()
    if not preset.is_active:
        preset.is_active = True
        preset.save(update_fields=["is_active", "updated_at"])
    # Pages read the store's time zone from a short cache: drop it once this is committed.
    shop_time_zone_cache_clear()
    return preset


def acceptance_record(
    *,
    order_ref: str,
    document: PolicyDocument,
    consent_kind: str,
    wording: str,
    wording_version: str,
    ip: str | None = None,
    user_agent: str = "",
    accepted_at: datetime | None = None,
) -> PolicyAcceptance:
    """Record that the customer of ``order_ref`` accepted ``document`` (idempotent)."""
    defaults = {
        "wording": wording,
        "wording_version": wording_version,
        "accepted_at": accepted_at or timezone.now(),
        "ip": ip or None,
        "user_agent": (user_agent or "")[:400],
    }
    try:
        with transaction.atomic():
            acceptance, _ = PolicyAcceptance.objects.get_or_create(
                order_ref=order_ref, document=document, consent_kind=consent_kind, defaults=defaults
            )
    except IntegrityError:  # a concurrent duplicate: the first record stands
        acceptance = PolicyAcceptance.objects.get(
            order_ref=order_ref, document=document, consent_kind=consent_kind
        )
    return acceptance


def acceptances_record_checkout(
    *,
    order_ref: str,
    language: str,
    given: set[str],
    ip: str | None = None,
    user_agent: str = "",
) -> list[PolicyAcceptance]:
    """Record every consent the active preset asks for at checkout.

    ``given`` holds the consent kinds the customer ticked; a missing required one raises
    ``ValueError`` naming it, so checkout cannot pass without it.
    """
    requirements = checkout_consents_get(language=language)
    missing = [r.kind for r in requirements if r.required and r.kind not in given]
    if missing:
        raise ValueError(f"consent missing: {', '.join(missing)}")
    return [
        acceptance_record(
            order_ref=order_ref,
            document=r.document,
            consent_kind=r.kind,
            wording=r.wording,
            wording_version=r.wording_version,
            ip=ip,
            user_agent=user_agent,
        )
        for r in requirements
        if r.kind in given and r.document is not None
    ]
