"""``manage.py decide_claim``: public cases, a subprocess run without a database, bad input."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

REPO = Path(__file__).resolve().parents[2]
PUBLIC = Path(os.environ.get("POLICY_CASES", "/work/shared/policy-cases/public.jsonl"))
LOCAL_PUBLIC = Path(__file__).with_name("public_cases.jsonl")
CASES_FILE = PUBLIC if PUBLIC.exists() else LOCAL_PUBLIC
PUBLIC_LINES = [line for line in CASES_FILE.read_text().splitlines() if line.strip()]

GOOD = json.loads(PUBLIC_LINES[0])


def run(stdin: str, **options) -> str:
    out = io.StringIO()
    call_command("decide_claim", stdin=io.StringIO(stdin), stdout=out, **options)
    return out.getvalue()


@pytest.mark.parametrize("line", PUBLIC_LINES, ids=lambda line: json.loads(line)["note"][:40])
def test_public_case(line):
    expected = json.loads(line)["expect"]
    answer = json.loads(run(line))
    assert answer["outcome"] == expected
    assert answer["clause"].startswith(json.loads(line)["policy"] + ".")
    assert set(answer) == {"outcome", "clause", "explanation"}


def test_public_cases_as_jsonl_in_a_fresh_process_without_a_database(tmp_path):
    env = {
        **os.environ,
        "KEYSTORE_ENV": "test",
        "KEYSTORE_VAR_DIR": str(tmp_path / "var"),
        # A database that cannot exist: the command must not need one.
        "DATABASE_URL": f"sqlite:///{tmp_path}/missing/dir/db.sqlite3",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "decide_claim", "--jsonl"],
        input="\n".join(PUBLIC_LINES) + "\n",
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["outcome"] for a in answers] == [json.loads(x)["expect"] for x in PUBLIC_LINES]
    assert not (tmp_path / "missing").exists()


def test_policy_option_overrides_the_case():
    case = dict(GOOD, policy="novakeys")
    answer = json.loads(run(json.dumps(case), policy="windowskeymart"))
    assert answer["clause"].startswith("windowskeymart.")


def test_unknown_keys_are_ignored():
    answer = json.loads(run(json.dumps(dict(GOOD, colour="blue", expect="x", note="y"))))
    assert answer["outcome"] == "replace"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"policy": "nosuchstore"}, "policy"),
        ({"reason": "bored"}, "reason"),
        ({"now": "2026-03-04T10:00:00"}, "now"),
        ({"purchased_at": "yesterday"}, "purchased_at"),
        ({"delivered_at": "2026-03-02"}, "delivered_at"),
        ({"verification": "maybe"}, "verification"),
        ({"replacements_given": -1}, "replacements_given"),
        ({"activated": "no"}, "activated"),
    ],
)
def test_bad_field_is_a_one_line_error_naming_it(change, field):
    with pytest.raises(CommandError) as error:
        run(json.dumps(dict(GOOD, **change)))
    message = str(error.value)
    assert message.startswith(f"{field}:")
    assert "\n" not in message


@pytest.mark.parametrize("field", ["now", "reason", "delivered_at", "support_exhausted"])
def test_missing_field_is_named(field):
    case = dict(GOOD)
    del case[field]
    with pytest.raises(CommandError, match=rf"^{field}: required"):
        run(json.dumps(case))


def test_no_policy_anywhere():
    case = dict(GOOD)
    del case["policy"]
    with pytest.raises(CommandError, match="^policy:"):
        run(json.dumps(case))


def test_malformed_json():
    with pytest.raises(CommandError, match="malformed JSON"):
        run("{not json")


def test_unknown_preset_option_fails_before_reading():
    with pytest.raises(CommandError, match="^policy: unknown preset 'nope'"):
        run(json.dumps(GOOD), policy="nope", jsonl=True)


def test_jsonl_bad_lines_answer_in_place():
    naive = dict(GOOD, now="2026-03-04T10:00:00")
    lines = [json.dumps(GOOD), "{broken", json.dumps(naive), "", json.dumps(dict(GOOD, reason="x"))]
    out = [json.loads(line) for line in run("\n".join(lines), jsonl=True).splitlines()]
    assert len(out) == 4
    assert out[0]["outcome"] == "replace"
    assert out[1]["error"].startswith("case: malformed JSON")
    assert out[2]["error"].startswith("now: timestamp has no time zone")
    assert out[3]["error"].startswith("reason:")


def test_subprocess_bad_input_exits_non_zero(tmp_path):
    env = {**os.environ, "KEYSTORE_ENV": "test", "KEYSTORE_VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "manage.py", "decide_claim", "--policy", "antimart"],
        input=json.dumps(dict(GOOD, failed_at="soon")),
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=60,
    )
    assert result.returncode != 0
    assert "failed_at:" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
