"""Every reading in the per-seed case files, decided by ``manage.py decide_claim``.

Each case quotes the seed sentence it rests on; the quote must be in the seed verbatim.
"""

import io
import json

import pytest
from django.core.management import call_command

from .seed_cases import SEED_FILES, SEEDS_DIR, case_id, seed_cases, text_normalize

CASES = seed_cases()


def test_every_seed_has_a_case_file():
    assert {c["policy"] for c in CASES} == set(SEED_FILES)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_case_quotes_its_seed_verbatim(case):
    seed = SEEDS_DIR / SEED_FILES[case["policy"]]
    if not seed.exists():
        pytest.skip(f"seed text not available at {seed}")
    assert text_normalize(case["quote"]) in text_normalize(seed.read_text(encoding="utf-8"))


@pytest.mark.parametrize("slug", sorted(SEED_FILES))
def test_decide_claim_reads_each_seed_as_its_case_file_says(slug):
    cases = seed_cases(slug)
    out = io.StringIO()
    stdin = "".join(json.dumps(c) + "\n" for c in cases)
    call_command("decide_claim", "--jsonl", stdin=io.StringIO(stdin), stdout=out)
    answers = [json.loads(line) for line in out.getvalue().splitlines()]
    got = {c["id"]: (a["outcome"], a["clause"]) for c, a in zip(cases, answers, strict=True)}
    want = {c["id"]: (c["expect"], c["expect_clause"]) for c in cases}
    assert got == want
