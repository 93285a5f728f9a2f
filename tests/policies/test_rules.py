"""Preset data: the schema check, and what every shipped preset must hold (no database)."""

import copy
import os
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from policies.documents import LANGUAGES, documents_build
from policies.rules import (
    REASONS,
    PresetError,
    preset_data_read,
    preset_rules_shipped,
    preset_slugs_shipped,
    rules_parse,
)

# The decision contract shared by the team (../shared/policy-decisions.md, i.e.
# /work/shared/policy-decisions.md); a verbatim copy travels with the tests for CI
# (tests/policies/policy_decisions_contract.md), checked against the original when present.
VENDORED_CONTRACT = Path(__file__).with_name("policy_decisions_contract.md")
SHARED_CONTRACT = Path(os.environ.get("POLICY_CONTRACT", "/work/shared/policy-decisions.md"))
CONTRACT = SHARED_CONTRACT if SHARED_CONTRACT.exists() else VENDORED_CONTRACT
SLUGS = ["allkeymasters", "antimart", "microprokey", "novakeys", "windowskeymart"]

CONTACT = SimpleNamespace(
    support_email="help@shop.example", support_phone="+33 1 23 45 67 89", support_hours="9-17"
)


def test_the_five_presets_ship():
    assert preset_slugs_shipped() == SLUGS


@pytest.mark.parametrize("slug", SLUGS)
def test_every_clause_is_published_in_three_languages(slug):
    rules = preset_rules_shipped(slug)
    built = documents_build(rules, contact=CONTACT)
    for clause in rules.clauses:
        for language in LANGUAGES:
            page = built[(clause.document, language)]
            found = [c for c in page["clauses"] if c["id"] == clause.id]
            assert found, (clause.id, language)
            assert found[0]["title"] and found[0]["body"]
    for (kind, language), page in built.items():
        ids = [c["id"] for c in page["clauses"]]
        assert len(ids) == len(set(ids)), (kind, language)
        assert all(i.startswith(f"{slug}.") for i in ids)
        texts = [page["title"], page["intro"]] + [c["title"] + c["body"] for c in page["clauses"]]
        assert not any("{" in t or "}" in t for t in texts), (kind, language)  # all filled


@pytest.mark.parametrize("slug", SLUGS)
def test_documents_only_publish_clauses_the_rules_know(slug):
    rules = preset_rules_shipped(slug)
    known = {c.id for c in rules.clauses}
    common = {
        "statutory_rights",
        "policy_versions",
        "privacy_data",
        "privacy_key_views",
        "privacy_payments",
        "privacy_rights",
    }
    for page in documents_build(rules, contact=CONTACT).values():
        for clause in page["clauses"]:
            assert clause["id"] in known or clause["id"].split(".", 1)[1] in common


def test_numbers_from_the_seeds():
    wkm, mpk, anti, akm, nova = (
        preset_rules_shipped(s)
        for s in ("windowskeymart", "microprokey", "antimart", "allkeymasters", "novakeys")
    )
    assert (wkm.remedy.refund_window.days, wkm.remedy.refund_window.anchor) == (7, "purchase")
    assert wkm.claim_window.anchor == "none"
    assert wkm.delivery.promise_seconds == 60
    assert (mpk.claim_window.days, mpk.claim_window.anchor) == (7, "purchase")
    assert mpk.viewed_key_final.enabled
    assert (anti.claim_window.days, anti.delivery.non_delivery_deadline_hours) == (7, 24)
    assert (anti.refund_processing.min_days, anti.refund_processing.max_days) == (5, 7)
    assert anti.cancellation.before_delivery
    assert akm.claim_window.anchor == "none"  # no window stated: none inherited
    assert (akm.verification.amount, akm.verification.unit) == (48, "hours")
    assert akm.refund_processing.bank_extra_days == (3, 10)
    assert akm.chargeback.revoke_key and akm.chargeback.suspend_account
    assert {c.kind for c in akm.checkout_consents} == {
        "policy_acceptance",
        "immediate_delivery_consent",
        "withdrawal_waiver",
    }
    assert (nova.claim_window.days, nova.claim_window.anchor) == (7, "failure")
    assert (nova.verification.amount, nova.verification.unit) == (2, "days")
    assert nova.calendar.time_zone == "Asia/Riyadh"
    assert nova.calendar.working_days == (0, 1, 2, 3, 6)  # Sun-Thu
    assert (str(nova.calendar.opens), str(nova.calendar.closes)) == ("09:00:00", "17:00:00")
    assert wkm.exchange_for_wrong_purchase and not mpk.exchange_for_wrong_purchase
    assert nova.excluded_reasons == {"lost_code", "wrong_account", "shared_code"}


def _broken(mutate):
    data = copy.deepcopy(preset_data_read("novakeys"))
    mutate(data)
    with pytest.raises(PresetError) as error:
        rules_parse(data)
    return str(error.value)


def test_schema_errors_name_the_field():
    assert _broken(
        lambda d: d["reasons"].update(
            bored={"treatment": "reject", "clause": "novakeys.out_of_scope"}
        )
    ).startswith("reasons.bored")
    assert _broken(lambda d: d["calendar"].update(time_zone="Mars/Olympus")).startswith(
        "calendar.time_zone"
    )
    assert _broken(lambda d: d["reasons"]["lost_code"].update(clause="novakeys.nope")).startswith(
        "reasons.lost_code.clause"
    )
    assert _broken(lambda d: d["claim_window"].update(anchor="delivery")).startswith(
        "claim_window.anchor"
    )
    assert _broken(lambda d: d["claim_window"].update(days=None)).startswith("claim_window.days")
    assert _broken(lambda d: d["remedy"].pop("max_replacements")).startswith(
        "remedy.max_replacements"
    )
    assert _broken(
        lambda d: d["clauses"].append({"id": "other.x", "title": "x", "document": "refund"})
    ).startswith("clauses[")
    assert _broken(lambda d: d["calendar"]["opening_hours"].update(close="08:00")).startswith(
        "calendar.opening_hours.close"
    )


def _contract_reasons(text: str) -> list[str]:
    """The names in the contract's ``Reasons:`` paragraph, in its order."""
    paragraph = re.search(r"^Reasons: (.*?)\n\n", text, re.S | re.M).group(1)
    return re.findall(r"`([a-z_]+)`", paragraph)


@pytest.mark.skipif(not SHARED_CONTRACT.exists(), reason="the shared contract is not here")
def test_the_vendored_contract_is_the_shared_one():
    """CI reads the copy: it must say what the team's contract says."""
    assert _contract_reasons(VENDORED_CONTRACT.read_text()) == _contract_reasons(
        SHARED_CONTRACT.read_text()
    )
    assert VENDORED_CONTRACT.read_text() == SHARED_CONTRACT.read_text()


def test_reasons_vocabulary_matches_the_contract():
    """The engine's reasons are exactly the contract's, in its order; every preset's table in
    the policies README and every preset file speaks only that vocabulary."""
    contract = _contract_reasons(CONTRACT.read_text())
    assert len(contract) == len(set(contract)) == 18
    assert list(REASONS) == contract
    readme = (Path(__file__).resolve().parents[2] / "policies" / "README.md").read_text()
    for slug in SLUGS:
        table = readme.split(f"#### `{slug}`", 1)[1].split("####", 1)[0]
        assert re.findall(r"^\| `([a-z_]+)` \|", table, re.M) == contract, slug
        assert set(preset_data_read(slug)["reasons"]) <= set(contract), slug
