"""The per-seed case files (``tests/policies/cases/<slug>.jsonl``): one full contract case
a line, with ``expect`` (outcome), ``expect_clause``, ``quote`` (the seed sentence the
reading rests on, verbatim) and ``reading``. ``decide_claim --jsonl`` reads them as they are.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

CASES_DIR = Path(__file__).with_name("cases")
SEEDS_DIR = Path("/work/shared/seeds")
SEED_FILES = {
    "windowskeymart": "000_d051844c3d57e916.txt",
    "microprokey": "001_e4cd68e04e222534.txt",
    "antimart": "002_e12e53a25dcdee37.txt",
    "allkeymasters": "003_2bd629a8ec1568b9.txt",
    "novakeys": "004_128db028492a3e69.txt",
}
STAFF_FACT_DEFAULTS = {"verification": "pending", "activated": False, "support_exhausted": False}


def seed_cases(slug: str | None = None) -> list[dict]:
    files = [CASES_DIR / f"{slug}.jsonl"] if slug else sorted(CASES_DIR.glob("*.jsonl"))
    return [
        json.loads(line)
        for path in files
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def case_id(case: dict) -> str:
    return f"{case['policy']}:{case['id']}"


def text_normalize(text: str) -> str:
    """Quotes compare with straight apostrophes and single spaces."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("*", "")
    return re.sub(r"\s+", " ", text).strip()


def form_facts(case: dict) -> dict:
    """The case as the customer's claim form sees it: nothing verified or tried yet."""
    return {**case, **STAFF_FACT_DEFAULTS}
