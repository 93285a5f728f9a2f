"""``manage.py decide_claim``: decide claim cases read from stdin under a policy preset.

With a preset slug it reads the preset shipped in ``policies/presets/`` and needs no
database; ``--policy active`` decides under the shop's active preset (database).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from policies.casefile import CaseError, case_parse
from policies.engine import claim_decide
from policies.rules import PresetError, PresetRules, preset_rules_shipped
from policies.selectors import preset_active_get


class Command(BaseCommand):
    help = "Decide claim cases (JSON on stdin) under a policy preset; prints the decision JSON."
    requires_system_checks: list[str] = []
    stealth_options = ("stdin",)

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--policy",
            help="preset slug (as shipped), or 'active' for the shop's active preset; "
            "defaults to the case's own 'policy' field",
        )
        parser.add_argument(
            "--jsonl", action="store_true", help="one case per line in, one answer per line out"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stream = options.get("stdin") or sys.stdin
        self._presets: dict[str, PresetRules] = {}
        policy = options.get("policy")
        if policy:
            # An unknown preset fails the whole run, before any case is read.
            try:
                self._preset(policy)
            except CaseError as exc:
                raise CommandError(str(exc)) from None
        if options["jsonl"]:
            for line in stream:
                if line.strip():
                    self.stdout.write(json.dumps(self._answer(line, policy), ensure_ascii=False))
            return
        text = stream.read()
        try:
            answer = self._decide(text, policy)
        except CaseError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(json.dumps(answer, ensure_ascii=False))

    def _answer(self, line: str, policy: str | None) -> dict[str, str]:
        try:
            return self._decide(line, policy)
        except CaseError as exc:
            return {"error": str(exc)}

    def _decide(self, text: str, policy: str | None) -> dict[str, str]:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CaseError(
                "case", f"malformed JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
            ) from None
        case = case_parse(data)
        slug = policy or case.policy
        if not slug:
            raise CaseError("policy", "required: pass --policy or a 'policy' field in the case")
        return claim_decide(case=case, preset=self._preset(slug)).as_dict()

    def _preset(self, slug: str) -> PresetRules:
        if slug not in self._presets:
            self._presets[slug] = self._load(slug)
        return self._presets[slug]

    def _load(self, slug: str) -> PresetRules:
        if slug == "active":
            rules = preset_active_get()
            if rules is None:
                raise CaseError("policy", "no preset is active (load one with --activate)")
            return rules
        try:
            return preset_rules_shipped(slug)
        except LookupError:
            raise CaseError("policy", f"unknown preset {slug!r}") from None
        except PresetError as exc:
            raise CaseError("policy", f"preset {slug!r} is invalid: {exc}") from None
