"""Properties of the decision engine over every shipped preset (hypothesis; no database)."""

from copy import deepcopy
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta

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


@settings(max_examples=500, deadline=None)
@given(
    slug=st.sampled_from(sorted(PRESETS)),
    case=cases(),
    earlier=st.integers(min_value=1, max_value=60 * 24 * 30),
)
def test_a_claim_inside_the_window_stays_inside_when_earlier(slug, case, earlier):
    """Property: deciding the same claim earlier never turns an accepted-window claim into an
    out-of-window rejection; a preset without a claim window never rejects as out of it."""
    preset = PRESETS[slug]
    first = claim_decide(case=case, preset=preset)
    if preset.claim_window.anchor == "none":
        assert first.message != "outside_window", first
    assume(first.message != "outside_window")
    sooner = replace(case, now=case.now - timedelta(minutes=earlier))
    assume(sooner.now >= case.purchased_at)
    assume(case.failed_at is None or sooner.now >= case.failed_at)
    assume(case.delivered_at is None or sooner.now >= case.delivered_at)
    assume(case.first_viewed_at is None or sooner.now >= case.first_viewed_at)
    second = claim_decide(case=sooner, preset=preset)
    assert second.message != "outside_window", (first, second)


@settings(max_examples=300, deadline=None)
@given(slug=st.sampled_from(sorted(PRESETS)), case=cases(), other=cases())
def test_the_engine_is_deterministic_and_pure(slug, case, other):
    """Deciding a case leaves the case and the preset as they were, and the answer (its
    message and raw values too) does not depend on what was decided before it."""
    preset = PRESETS[slug]
    case_before, preset_before = deepcopy(case), deepcopy(preset)
    first = claim_decide(case=case, preset=preset)
    assert case == case_before and preset == preset_before
    for slug_between in sorted(PRESETS):  # anything a hidden cache or counter would keep
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


def test_the_engine_answers_the_same_in_another_process_zone_and_hash_seed():
    """The same cases decided in a fresh interpreter (another hash seed, another local time
    zone) get the same answers: nothing depends on set order, the local clock or the zone."""
    import json
    import os
    import random
    import subprocess
    import sys
    from pathlib import Path

    rng = random.Random(11)
    batch = [(slug, _random_case(rng)) for slug in sorted(PRESETS) for _ in range(80)]
    here = [claim_decide(case=case, preset=PRESETS[slug]).as_dict() for slug, case in batch]
    code = (
        "import json, sys\n"
        "from datetime import datetime\n"
        "from policies.engine import ClaimCase, claim_decide\n"
        "from policies.rules import preset_rules_shipped\n"
        "out = []\n"
        "for slug, data in json.load(sys.stdin):\n"
        "    for name in ('now', 'purchased_at', 'delivered_at', 'first_viewed_at', 'failed_at'):\n"
        "        data[name] = data[name] and datetime.fromisoformat(data[name])\n"
        "    case = ClaimCase(**data)\n"
        "    out.append(claim_decide(case=case, preset=preset_rules_shipped(slug)).as_dict())\n"
        "print(json.dumps(out))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(PYTHONHASHSEED="4242", TZ="Pacific/Kiritimati")
    result = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps([(slug, _case_json(case)) for slug, case in batch]),
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == here


def test_engine_imports_and_runs_without_django_settings():
    """The engine and the preset rules are plain Python: no settings, no database."""
    import os
    import subprocess
    import sys
    from pathlib import Path

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
