"""The texts a preset shows customers (delivery promise, legal bases, consent wordings,
clause titles) exist in English, French and Arabic, and Arabic isolates the citations."""

import re

import pytest
from django.utils import translation

from policies.consents import CONSENT_WORDING_VERSION, consent_wording_version
from policies.documents import documents_build
from policies.rules import (
    PresetError,
    Text,
    preset_data_read,
    preset_rules_shipped,
    preset_slugs_shipped,
    rules_parse,
)

LANGS = ("en", "fr", "ar")
ARABIC = re.compile(r"[\u0600-\u06ff]")


class _Contact:
    support_email = "help@shop.example"
    support_phone = "+33 1 23 45 67 89"
    support_hours = "9-18"


@pytest.mark.parametrize("slug", preset_slugs_shipped())
def test_every_customer_visible_preset_text_exists_in_every_language(slug):
    rules = preset_rules_shipped(slug)
    texts = [rules.delivery.promise_text] + [
        c.legal_basis for c in rules.checkout_consents if c.legal_basis
    ]
    for text in texts:
        values = {lang: text.get(lang) for lang in LANGS}
        assert all(values.values()), values
        assert len(set(values.values())) == 3, values  # really translated, not copied
        assert ARABIC.search(values["ar"]), values["ar"]


@pytest.mark.parametrize("slug", preset_slugs_shipped())
def test_policy_pages_name_the_delivery_promise_in_their_own_language(slug):
    rules = preset_rules_shipped(slug)
    built = documents_build(rules, contact=_Contact())
    for lang in ("fr", "ar"):
        intro = built[("delivery", lang)]["intro"]
        assert rules.delivery.promise_text.get(lang) in intro
        assert rules.delivery.promise_text.get("en") not in intro


def test_a_text_renders_in_the_active_language_and_falls_back_to_english():
    text = Text.of({"en": "by email", "fr": "par e-mail"})
    with translation.override("fr"):
        assert str(text) == "par e-mail" and f"{text}" == "par e-mail"
    with translation.override("ar"):
        assert str(text) == "by email"
        assert text.language_of("ar") == "en"
    assert Text.of("only English").get("fr") == "only English"


def test_a_preset_text_without_english_or_in_an_unknown_language_is_refused():
    data = preset_data_read("antimart")
    data["delivery"]["promise_text"] = {"fr": "par e-mail"}
    with pytest.raises(PresetError, match=r"delivery\.promise_text\.en: required"):
        rules_parse(data)
    data["delivery"]["promise_text"] = {"en": "by email", "de": "per E-Mail"}
    with pytest.raises(PresetError, match="unknown language"):
        rules_parse(data)
    data["delivery"]["promise_text"] = "by email"  # a plain string is English only
    assert rules_parse(data).delivery.promise_text.get("ar") == "by email"


@pytest.mark.parametrize("lang", LANGS)
def test_the_recorded_consent_version_names_the_language_shown(lang):
    version = consent_wording_version(kind="withdrawal_waiver", language=lang)
    assert version == f"{CONSENT_WORDING_VERSION}-{lang}"


def test_an_untranslated_consent_wording_is_recorded_as_the_english_one_shown():
    # a language the catalogs do not have: gettext answers with the English wording
    version = consent_wording_version(kind="withdrawal_waiver", language="de")
    assert version == f"{CONSENT_WORDING_VERSION}-en"
