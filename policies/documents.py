"""Policy page texts shipped with each preset: ``policies/documents/<slug>.json``.

Each file holds, per document kind, a title, an intro and clauses (stable ids) in
English, French and Arabic. ``_common.json`` holds clauses every store publishes
(privacy, terms); their ids get the preset slug as prefix. Where a text names the support
email, phone or hours, they are the running shop's own (``core`` shop identity), never
the contact details of the company that wrote the seed. Building is pure; the
``preset_load`` service stores it.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Protocol

from .rules import DOCUMENT_KINDS, PresetRules

DOCUMENTS_DIR = Path(__file__).resolve().parent / "documents"
LANGUAGES = ("en", "fr", "ar")


class Contact(Protocol):
    """The shop's support contact (``core.identity.Identity`` has these). Read-only, so a
    frozen dataclass fits."""

    @property
    def support_email(self) -> str: ...
    @property
    def support_phone(self) -> str: ...
    @property
    def support_hours(self) -> str: ...


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def _read(name: str) -> dict[str, Any]:
    return json.loads((DOCUMENTS_DIR / f"{name}.json").read_text(encoding="utf-8"))


def _fill(text: str, values: dict[str, str]) -> str:
    return text.format_map(_Blank(values))


def _values(rules: PresetRules, contact: Contact, language: str) -> dict[str, str]:
    return {
        "store": rules.name,
        "email": contact.support_email,
        "phone": contact.support_phone,
        "hours": contact.support_hours,
        "time_zone": rules.calendar.time_zone,
        "delivery": rules.delivery.promise_text.get(language),
    }


@functools.cache
def clause_titles(slug: str) -> dict[str, dict[str, str]]:
    """``{clause_id: {language: title}}`` from the shipped policy texts of one preset."""
    own = _read(slug)
    common = _read("_common")
    titles: dict[str, dict[str, str]] = {}
    for kind in DOCUMENT_KINDS:
        for clause in own.get(kind, {}).get("clauses", []):
            titles[clause["id"]] = dict(clause.get("title", {}))
        for clause in common.get(kind, {}).get("clauses", []):
            titles[f"{slug}.{clause['id']}"] = dict(clause.get("title", {}))
    return titles


def documents_build(
    rules: PresetRules, *, contact: Contact
) -> dict[tuple[str, str], dict[str, Any]]:
    """``{(kind, language): {"title", "intro", "clauses": [{"id", "title", "body"}]}}``."""
    own = _read(rules.slug)
    common = _read("_common")
    built: dict[tuple[str, str], dict[str, Any]] = {}
    for kind in DOCUMENT_KINDS:
        mine = own.get(kind, {})
        shared = common.get(kind, {})
        clauses = [dict(c) for c in mine.get("clauses", [])]
        clauses += [dict(c, id=f"{rules.slug}.{c['id']}") for c in shared.get("clauses", [])]
        title = mine.get("title") or shared.get("title")
        intro = mine.get("intro") or shared.get("intro") or {}
        for language in LANGUAGES:
            values = _values(rules, contact, language)
            built[(kind, language)] = {
                "title": _fill(title[language], values),
                "intro": _fill(intro.get(language, ""), values),
                "clauses": [
                    {
                        "id": c["id"],
                        "title": _fill(c["title"][language], values),
                        "body": _fill(c["body"][language], values),
                    }
                    for c in clauses
                ],
            }
    return built
