"""Published policy pages of the active preset: index, one page with clause anchors, history."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation

from .models import DocumentKind
from .selectors import (
    document_current_get,
    document_history_list,
    document_version_get,
    documents_current_list,
    preset_active_record_get,
    shop_choices_get,
)


def _language() -> str:
    return (translation.get_language() or "en").split("-")[0]


def _active_preset():
    preset = preset_active_record_get()
    if preset is None:
        raise Http404("No policy is published yet.")
    return preset


def index(request: HttpRequest) -> HttpResponse:
    preset = preset_active_record_get()
    documents = documents_current_list(language=_language(), preset=preset) if preset else []
    choices = shop_choices_get(rules=preset.rules_get()) if preset else []
    return render(
        request,
        "policies/index.html",
        {"preset": preset, "documents": documents, "shop_choices": choices},
    )


def document(request: HttpRequest, kind: str) -> HttpResponse:
    preset = _active_preset()
    language = _language()
    version = request.GET.get("version", "")
    if version.isdigit():
        shown = document_version_get(
            preset=preset, kind=kind, language=language, version=int(version)
        )
    else:
        shown = document_current_get(kind=kind, language=language, preset=preset)
    if shown is None:
        raise Http404("No such policy page.")
    # Stores that publish two languages side by side (NovaKeys: English and Arabic).
    side_by_side = preset.rules.get("presentation", {}).get("side_by_side", [])
    companions = []
    if shown.language in side_by_side:
        for other in side_by_side:
            if other != shown.language:
                found = document_current_get(kind=kind, language=other, preset=preset)
                if found is not None and found.language == other:
                    companions.append(found)
    current = document_current_get(kind=kind, language=language, preset=preset)
    return render(
        request,
        "policies/document.html",
        {
            "preset": preset,
            "document": shown,
            "companions": companions,
            "is_current": current is not None and current.pk == shown.pk,
            "kind_label": DocumentKind(kind).label,
            "seo_title": shown.title,
            "seo_description": (shown.body or {}).get("intro") or shown.title,
            # an old version is a record, not the page to find
            "seo_noindex": bool(version),
        },
    )


def history(request: HttpRequest, kind: str) -> HttpResponse:
    preset = _active_preset()
    versions = document_history_list(kind=kind, language=_language(), preset=preset)
    if not versions:
        raise Http404("No such policy page.")
    return render(
        request,
        "policies/history.html",
        {
            "preset": preset,
            "versions": versions,
            "kind": kind,
            "kind_label": DocumentKind(kind).label,
        },
    )
