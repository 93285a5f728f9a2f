"""Presets and documents in the database: loading, activation, versions, acceptances."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction

from policies.models import PolicyAcceptance, PolicyDocument, PolicyPreset
from policies.selectors import (
    checkout_consents_get,
    clause_url,
    document_current_get,
    preset_active_get,
)
from policies.services import (
    acceptance_record,
    acceptances_record_checkout,
    preset_activate,
    preset_load,
)

pytestmark = pytest.mark.django_db


def test_load_is_idempotent_and_publishes_15_pages():
    first = preset_load(slug="antimart")
    assert first.created and first.documents_published == 15  # 5 kinds x 3 languages
    again = preset_load(slug="antimart")
    assert (again.created, again.rules_changed, again.documents_published) == (False, False, 0)
    assert PolicyDocument.objects.filter(preset=first.preset).count() == 15


def test_changed_wording_gets_a_new_version_and_keeps_history():
    preset = preset_load(slug="novakeys").preset
    doc = document_current_get(kind="warranty", language="en", preset=preset)
    doc.body = dict(doc.body, intro="an older wording")
    doc.save()
    assert preset_load(slug="novakeys").documents_published == 1
    current = document_current_get(kind="warranty", language="en", preset=preset)
    assert current.version == 2 and current.body["intro"] != "an older wording"
    assert PolicyDocument.objects.filter(preset=preset, kind="warranty", language="en").count() == 2


def test_staff_edits_to_rules_are_reset_by_a_reload():
    preset = preset_load(slug="microprokey").preset
    preset.rules = dict(preset.rules, name="Tuned")
    preset.save()
    assert preset_load(slug="microprokey").rules_changed


def test_only_one_preset_is_active():
    a = preset_load(slug="antimart", activate=True).preset
    b = preset_load(slug="novakeys").preset
    preset_activate(preset=b)
    a.refresh_from_db()
    assert not a.is_active and PolicyPreset.objects.get(is_active=True) == b
    assert preset_active_get().slug == "novakeys"
    with pytest.raises(IntegrityError), transaction.atomic():
        PolicyPreset.objects.filter(pk=a.pk).update(is_active=True)


def test_model_clean_validates_rules():
    from django.core.exceptions import ValidationError

    preset = preset_load(slug="antimart").preset
    preset.rules = dict(preset.rules, claim_window={"anchor": "sometime"})
    with pytest.raises(ValidationError, match="claim_window.anchor"):
        preset.full_clean()


def test_load_command_and_decide_against_the_active_preset():
    out = io.StringIO()
    call_command("load_policy_preset", "allkeymasters", "--activate", stdout=out)
    assert "allkeymasters: preset created, active" in out.getvalue()
    case = {
        "now": "2026-03-04T10:00:00+00:00",
        "purchased_at": "2026-03-02T10:00:00+00:00",
        "delivered_at": None,
        "first_viewed_at": None,
        "activated": False,
        "reason": "cancel_request",
        "failed_at": None,
        "verification": "pending",
        "replacements_given": 0,
        "replacement_in_stock": True,
        "support_exhausted": False,
    }
    out = io.StringIO()
    call_command("decide_claim", policy="active", stdin=io.StringIO(json.dumps(case)), stdout=out)
    assert json.loads(out.getvalue())["outcome"] == "cancel"
    with pytest.raises(CommandError, match="slug: unknown preset"):
        call_command("load_policy_preset", "nosuch")


def test_decide_active_without_an_active_preset():
    with pytest.raises(CommandError, match="^policy: no preset is active"):
        call_command("decide_claim", policy="active", stdin=io.StringIO("{}"), stdout=io.StringIO())


def test_clause_url_points_at_the_anchor():
    assert (
        clause_url(clause_id="novakeys.out_of_scope")
        == "/policies/warranty/#clause-novakeys.out_of_scope"
    )
    assert (
        clause_url(clause_id="antimart.cancellations")
        == "/policies/refund/#clause-antimart.cancellations"
    )


def test_checkout_consents_for_allkeymasters_and_recording():
    preset_load(slug="allkeymasters", activate=True)
    consents = checkout_consents_get(language="fr")
    assert [c.kind for c in consents] == [
        "policy_acceptance",
        "immediate_delivery_consent",
        "withdrawal_waiver",
    ]
    assert all(c.document.language == "fr" and c.required for c in consents)
    with pytest.raises(ValueError, match="withdrawal_waiver"):
        acceptances_record_checkout(
            order_ref="KS-1",
            language="fr",
            given={"policy_acceptance", "immediate_delivery_consent"},
        )
    given = {c.kind for c in consents}
    rows = acceptances_record_checkout(
        order_ref="KS-1", language="fr", given=given, ip="203.0.113.9", user_agent="Firefox"
    )
    assert len(rows) == 3
    acceptances_record_checkout(order_ref="KS-1", language="fr", given=given)
    assert PolicyAcceptance.objects.filter(order_ref="KS-1").count() == 3
    assert rows[0].document.version == 1 and rows[0].wording_version


def test_acceptance_record_is_idempotent():
    preset = preset_load(slug="antimart").preset
    doc = document_current_get(kind="refund", language="en", preset=preset)
    kwargs = dict(
        order_ref="KS-9",
        document=doc,
        consent_kind="policy_acceptance",
        wording="I accept",
        wording_version="2026.1",
        ip="198.51.100.1",
    )
    assert acceptance_record(**kwargs).pk == acceptance_record(**kwargs).pk


def test_every_preset_loads():
    for slug in ("allkeymasters", "antimart", "microprokey", "novakeys", "windowskeymart"):
        assert preset_load(slug=slug).documents_published == 15
