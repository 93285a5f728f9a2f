"""The French and Arabic catalogs are complete, compiled and actually used."""

import gettext as gnu_gettext
import shutil
import subprocess
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.utils import translation

LANGUAGES = ("fr", "ar")
UI_STRINGS = ("Catalog", "Cart", "Sign in", "Add to cart", "Track an order")


def _catalog_dir(lang: str) -> Path:
    return Path(settings.LOCALE_PATHS[0]) / lang / "LC_MESSAGES"


def _mo_catalog(path: Path) -> dict:
    with path.open("rb") as handle:
        return dict(gnu_gettext.GNUTranslations(handle)._catalog)


def _mo_plural_forms(path: Path) -> str:
    with path.open("rb") as handle:
        return gnu_gettext.GNUTranslations(handle).info()["plural-forms"]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("text", UI_STRINGS)
def test_main_ui_strings_are_translated(lang, text):
    with translation.override(lang):
        translated = translation.gettext(text)
    assert translated.strip()
    assert translated != text


def test_arabic_plural_forms_follow_arabic_grammar():
    expected = {
        1: "منتج واحد",
        2: "منتجان",
        3: "3 منتجات",
        11: "11 منتجًا",
        100: "100 منتج",
    }
    with translation.override("ar"):
        got = {
            n: translation.ngettext("%(counter)s item", "%(counter)s items", n) % {"counter": n}
            for n in expected
        }
    assert got == expected


def test_french_plural_treats_zero_and_one_as_singular():
    with translation.override("fr"):
        assert translation.ngettext("%(months)s month", "%(months)s months", 1) == "%(months)s mois"
        assert translation.ngettext(
            "%(counter)s item", "%(counter)s items", 0
        ) == translation.ngettext("%(counter)s item", "%(counter)s items", 1)


def test_language_names_are_translated_in_arabic():
    with translation.override("ar"):
        assert translation.gettext("Arabic") == "العربية"


def _po_read(path: Path):
    with path.open("rb") as handle:
        return read_po(handle)


def _po_catalog(path: Path) -> dict:
    """What msgfmt would compile from ``path``: translated, non-fuzzy entries, keyed the way
    :class:`gettext.GNUTranslations` keys them (plural forms as ``(msgid, n)``). Read with
    Babel (pure Python), so the comparison needs no GNU gettext."""
    entries = {}
    for message in _po_read(path):
        if not message.id or message.fuzzy:
            continue
        prefix = f"{message.context}\x04" if message.context else ""
        if message.pluralizable:
            if all(message.string):
                for n, text in enumerate(message.string):
                    entries[(prefix + message.id[0], n)] = text
        elif message.string:
            entries[prefix + message.id] = message.string
    return entries


@pytest.mark.parametrize("lang", LANGUAGES)
def test_compiled_catalog_matches_its_source(lang, tmp_path):
    """A .po edited without running compilemessages would ship stale text. The .mo (read
    with Python's gettext) is compared entry by entry with the .po (read with Babel), with
    or without GNU gettext installed; msgfmt, when present, is a second opinion."""
    directory = _catalog_dir(lang)
    compiled = _mo_catalog(directory / "django.mo")
    compiled.pop("", None)  # the header
    source = _po_catalog(directory / "django.po")
    assert len(source) > 200, len(source)  # a real catalog, not two empty ones agreeing
    assert any(isinstance(key, tuple) for key in source)  # plural entries are compared too
    assert compiled == source
    po_plural = _po_read(directory / "django.po").plural_forms
    assert _mo_plural_forms(directory / "django.mo").replace(" ", "") == po_plural.replace(" ", "")
    msgfmt = shutil.which("msgfmt")
    if msgfmt is not None:  # GNU gettext, when installed, agrees entry for entry
        fresh = tmp_path / "django.mo"
        subprocess.run(
            [msgfmt, "--check-format", "-o", str(fresh), str(directory / "django.po")],
            check=True,
            capture_output=True,
        )
        assert _mo_catalog(directory / "django.mo") == _mo_catalog(fresh)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_source_catalog_has_no_fuzzy_or_untranslated_entries(lang):
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("GNU gettext (msgfmt) is not installed")
    result = subprocess.run(
        [
            msgfmt,
            "--check",
            "--statistics",
            "-o",
            "/dev/null",
            str(_catalog_dir(lang) / "django.po"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "translated message" in result.stderr
    assert "fuzzy" not in result.stderr
    assert "untranslated" not in result.stderr


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(
    "kind", ("policy_acceptance", "immediate_delivery_consent", "withdrawal_waiver")
)
def test_checkout_consent_wording_is_shown_in_the_customers_language(lang, kind):
    """The consent a customer ticks (and that is recorded) must be in their language."""
    from policies.consents import CONSENT_WORDING, consent_wording

    worded = consent_wording(kind=kind, language=lang)
    assert worded.strip()
    assert worded != CONSENT_WORDING[kind]
