"""Properties of the decision engine over every shipped preset (hypothesis; no database)."""

import json
import os
import random
import subprocess
import sys
from contextlib import ExitStack
from copy import deepcopy
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from policies.engine import (
    KEY_REMEDIES,
    OUTCOMES,
    VERIFICATION_STATES,
    ClaimCase,
    claim_decide,
)
from policies.rules import REASONS, REMEDY_OUTCOMES, preset_rules_shipped, preset_slugs_shipped

PRESETS = {slug: preset_rules_shipped(slug) for slug in preset_slugs_shipped()}
BASE = datetime(2026, 3, 2, 10, tzinfo=UTC)


@st.composite
def cases(draw, reason=st.sampled_from(REASONS)):
    purchased = BASE + timedelta(minutes=draw(st.integers(0, 60 * 24 * 30)))
    delivered = draw(st.booleans())
    delivered_at = (
        purchased + timedelta(seconds=draw(st.integers(1, 60 * 60 * 48))) if delivered else None
    )
    viewed = delivered and draw(st.booleans())
    now = purchased + timedelta(minutes=draw(st.integers(0, 60 * 24 * 60)))
    failed_at = draw(st.none() | st.just(purchased + (now - purchased) / 2))
    return ClaimCase(
        now=now,
        purchased_at=purchased,
        delivered_at=delivered_at,
        first_viewed_at=delivered_at + timedelta(minutes=1) if viewed else None,
        activated=delivered and draw(st.booleans()),
        reason=draw(reason),
        failed_at=failed_at,
        verification=draw(st.sampled_from(VERIFICATION_STATES)),
        replacements_given=draw(st.integers(0, 3)),
        replacement_in_stock=draw(st.booleans()),
        support_exhausted=draw(st.booleans()),
    )


@settings(max_examples=500, deadline=None)
@given(slug=st.sampled_from(sorted(PRESETS)), case=cases())
def test_every_case_gets_a_well_formed_decision(slug, case):
    decision = claim_decide(case=case, preset=PRESETS[slug])
    assert decision.outcome in OUTCOMES
    assert decision.clause.startswith(f"{slug}.")
    assert PRESETS[slug].clause_get(decision.clause) is not None
    assert decision.explanation and "%(" not in decision.explanation


@settings(max_examples=500, deadline=None)
@given(data=st.data(), slug=st.sampled_from(sorted(PRESETS)))
def test_excluded_reason_never_yields_a_remedy(data, slug):
    """Property: an excluded (or uncovered) reason is never replaced, refunded, exchanged or
    cancelled, whatever the rest of the case says."""
    preset = PRESETS[slug]
    refused = sorted(preset.excluded_reasons | (set(REASONS) - set(preset.reasons)))
    assume(refused)
    case = data.draw(cases(reason=st.sampled_from(refused)))
    decision = claim_decide(case=case, preset=preset)
    assert decision.outcome not in REMEDY_OUTCOMES
    assert decision.outcome == "reject"


# The presets with a claim window (days counted from the purchase or the failure), and the
# reasons each one counts against it: the window properties are about these only.
WINDOWED = {
    slug: sorted(
        reason
        for reason, rule in preset.reasons.items()
        if rule.windowed and rule.treatment not in ("reject", "cancellation")
    )
    for slug, preset in PRESETS.items()
    if preset.claim_window.anchor != "none"
}
WINDOWLESS = sorted(set(PRESETS) - set(WINDOWED))


def test_the_window_properties_have_presets_and_reasons_to_speak_about():
    """Without this, the window properties below could pass by testing nothing."""
    assert WINDOWED, "no shipped preset has a claim window"
    assert all(WINDOWED.values()), WINDOWED  # each counts at least one reason against it


@pytest.mark.parametrize("slug", sorted(WINDOWED))
def test_each_windowed_preset_accepts_inside_and_rejects_after_its_window(slug):
    """The window bites: the last minute inside it is not ``outside_window``, a minute after
    the deadline is (so the property below has something to hold)."""
    preset = PRESETS[slug]
    window = preset.claim_window
    failed_at = BASE + timedelta(days=1)
    start = BASE if window.anchor == "purchase" else failed_at
    for reason in WINDOWED[slug]:
        case = ClaimCase(
            now=start + timedelta(days=window.days),
            purchased_at=BASE,
            delivered_at=BASE + timedelta(minutes=1),
            first_viewed_at=None,
            activated=False,
            reason=reason,
            failed_at=failed_at,
            verification="confirmed_defective",
            replacements_given=0,
            replacement_in_stock=True,
            support_exhausted=True,
        )
        inside = claim_decide(case=case, preset=preset)
        after = claim_decide(case=replace(case, now=case.now + timedelta(minutes=1)), preset=preset)
        assert inside.message != "outside_window", (reason, inside)
        assert (after.outcome, after.message) == ("reject", "outside_window"), (reason, after)


@st.composite
def windowed_claims(draw):
    """A windowed preset and a case with a reason that preset counts against its window."""
    slug = draw(st.sampled_from(sorted(WINDOWED)))
    return slug, draw(cases(reason=st.sampled_from(WINDOWED[slug])))


@settings(max_examples=500, deadline=None)
@given(claim=windowed_claims(), earlier=st.integers(min_value=1, max_value=60 * 24 * 30))
def test_a_claim_inside_the_window_stays_inside_when_earlier(claim, earlier):
    """Property, for every preset with a window: deciding the same claim earlier never turns
    a claim inside the window into an out-of-window rejection."""
    slug, case = claim
    preset = PRESETS[slug]
    first = claim_decide(case=case, preset=preset)
    assume(first.message != "outside_window")
    sooner = replace(case, now=case.now - timedelta(minutes=earlier))
    assume(sooner.now >= case.purchased_at)
    assume(case.failed_at is None or sooner.now >= case.failed_at)
    assume(case.delivered_at is None or sooner.now >= case.delivered_at)
    assume(case.first_viewed_at is None or sooner.now >= case.first_viewed_at)
    second = claim_decide(case=sooner, preset=preset)
    assert second.message != "outside_window", (first, second)


@pytest.mark.skipif(not WINDOWLESS, reason="every shipped preset has a claim window")
@settings(max_examples=300, deadline=None)
@given(slug=st.sampled_from(WINDOWLESS or [""]), case=cases())
def test_a_preset_without_a_window_never_rejects_a_claim_as_outside_it(slug, case):
    far = replace(case, now=case.now + timedelta(days=3650))  # ten years on: still no window
    for moment in (case, far):
        decision = claim_decide(case=moment, preset=PRESETS[slug])
        assert decision.message != "outside_window", decision


@settings(max_examples=300, deadline=None)
@given(slug=st.sampled_from(sorted(PRESETS)), case=cases(), other=cases())
def test_an_answer_does_not_depend_on_what_was_decided_before_it(slug, case, other):
    """The answer (its message and raw values too) is the same after any other decisions:
    no hidden cache or counter carries from one call to the next."""
    preset = PRESETS[slug]
    first = claim_decide(case=case, preset=preset)
    for slug_between in sorted(PRESETS):
        claim_decide(case=other, preset=PRESETS[slug_between])
        claim_decide(case=case, preset=PRESETS[slug_between])
    again = claim_decide(case=case, preset=preset)
    assert (again, again.message, again.params) == (first, first.message, first.params)


def _case_json(case: ClaimCase) -> dict:
    return {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in asdict(case).items()
    }


def _random_case(rng) -> ClaimCase:
    """A case drawn like ``cases()`` but from a seeded generator, to send to a subprocess."""
    purchased = BASE + timedelta(minutes=rng.randint(0, 60 * 24 * 30))
    delivered = rng.random() < 0.7
    delivered_at = (
        purchased + timedelta(seconds=rng.randint(1, 60 * 60 * 48)) if delivered else None
    )
    now = purchased + timedelta(minutes=rng.randint(0, 60 * 24 * 60))
    return ClaimCase(
        now=now,
        purchased_at=purchased,
        delivered_at=delivered_at,
        first_viewed_at=delivered_at + timedelta(minutes=1) if delivered_at else None,
        activated=delivered and rng.random() < 0.3,
        reason=rng.choice(REASONS),
        failed_at=rng.choice([None, purchased + (now - purchased) / 2]),
        verification=rng.choice(VERIFICATION_STATES),
        replacements_given=rng.randint(0, 3),
        replacement_in_stock=rng.random() < 0.5,
        support_exhausted=rng.random() < 0.5,
        key_remedy=rng.choice(("",) * 8 + KEY_REMEDIES),
    )


# Run in a fresh interpreter: reads [slug, case] pairs as JSON, prints the decisions as JSON.
_DECIDE_IN_A_SUBPROCESS = """
import json, sys
from datetime import datetime
from policies.engine import ClaimCase, claim_decide
from policies.rules import preset_rules_shipped
out = []
for slug, data in json.load(sys.stdin):
    for name in ('now', 'purchased_at', 'delivered_at', 'first_viewed_at', 'failed_at'):
        data[name] = data[name] and datetime.fromisoformat(data[name])
    decision = claim_decide(case=ClaimCase(**data), preset=preset_rules_shipped(slug))
    params = [[name, str(value)] for name, value in decision.params]
    out.append({**decision.as_dict(), 'message': decision.message, 'params': params})
print(json.dumps(out))
"""


def _decision_json(decision) -> dict:
    """Everything a decision says, raw values included, as plain JSON (as the subprocess
    above writes it)."""
    return {
        **decision.as_dict(),
        "message": decision.message,
        "params": [[name, str(value)] for name, value in decision.params],
    }


def _decide_in_a_subprocess(batch: list, *, hash_seed: str, zone: str) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(PYTHONHASHSEED=hash_seed, TZ=zone)
    result = subprocess.run(
        [sys.executable, "-c", _DECIDE_IN_A_SUBPROCESS],
        input=json.dumps([(slug, _case_json(case)) for slug, case in batch]),
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.django_db  # a query would run (and be counted), not be refused
def test_the_engine_is_deterministic_and_pure():
    """Deterministic: the same cases decided here and in two fresh interpreters with other
    hash seeds and local time zones get the same answers, raw values included (nothing
    depends on set order, the local clock or the zone). Pure: deciding them makes no
    database query and leaves every case and every preset exactly as it was."""
    rng = random.Random(11)
    batch = [(slug, _random_case(rng)) for slug in sorted(PRESETS) for _ in range(80)]
    cases_before, presets_before = deepcopy(batch), deepcopy(PRESETS)
    with ExitStack() as stack:
        # in English, as the subprocesses (no settings, so no translation) write it
        stack.enter_context(translation.override("en"))
        queries = [stack.enter_context(CaptureQueriesContext(c)) for c in connections.all()]
        here = [
            _decision_json(claim_decide(case=case, preset=PRESETS[slug])) for slug, case in batch
        ]
    assert [q for capture in queries for q in capture.captured_queries] == []
    assert batch == cases_before
    assert presets_before == PRESETS
    assert {d["outcome"] for d in here} == set(OUTCOMES)  # the batch reaches every branch's end

    elsewhere = [
        _decide_in_a_subprocess(batch, hash_seed="1", zone="Pacific/Kiritimati"),
        _decide_in_a_subprocess(batch, hash_seed="4242", zone="America/Adak"),
    ]
    assert elsewhere[0] == here
    assert elsewhere[1] == here


def test_engine_imports_and_runs_without_django_settings():
    """The engine and the preset rules are plain Python: no settings, no database."""
    code = (
        "from tests.policies.helpers import decide; "
        "print(decide('novakeys', reason='lost_code').outcome)"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "reject"
