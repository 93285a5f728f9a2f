"""The engine's vocabulary: its outcomes are exactly the contract's (policy-decisions.md),
with the same stored values, and a decision's outcome is one of them."""

import json
from pathlib import Path

from policies.engine import OUTCOMES, Decision, Outcome
from policies.rules import REMEDY_OUTCOMES, TREATMENTS, Treatment

CONTRACT = Path(__file__).parent / "policy_decisions_contract.md"


def test_outcomes_are_the_contracts_with_unchanged_values():
    lines = CONTRACT.read_text().splitlines()
    table = lines[lines.index("| outcome | meaning |") + 2 :]
    in_contract = [row.split("`")[1] for row in table[: table.index("")]]
    assert [o.value for o in Outcome] == in_contract
    assert OUTCOMES == ("replace", "refund", "exchange", "cancel", "verify", "support", "reject")


def test_an_outcome_is_stored_and_serialised_as_its_plain_value():
    decision = Decision(Outcome.REPLACE, "novakeys.replacement", "A replacement is sent.")
    assert json.dumps(decision.as_dict())[:24] == '{"outcome": "replace", "'
    assert f"{decision.outcome}" == str(decision.outcome) == "replace"
    assert decision.is_remedy and {"replace", "refund", "exchange", "cancel"} == REMEDY_OUTCOMES


def test_treatments_keep_their_preset_values():
    assert tuple(t.value for t in Treatment) == TREATMENTS
    assert TREATMENTS == (
        "remedy", "refund", "exchange", "support", "non_delivery", "cancellation", "reject",
    )  # fmt: skip
