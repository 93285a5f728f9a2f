"""``manage.py load_policy_preset SLUG [--activate]``: load a shipped preset and its pages."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from policies.rules import PresetError, preset_slugs_shipped
from policies.services import preset_load


class Command(BaseCommand):
    help = "Load (or refresh) a shipped policy preset and its documents; idempotent."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug", help=f"one of: {', '.join(preset_slugs_shipped())}, or 'all'")
        parser.add_argument(
            "--activate", action="store_true", help="make it the shop's active preset"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["slug"]
        slugs = preset_slugs_shipped() if slug == "all" else [slug]
        if options["activate"] and len(slugs) > 1:
            raise CommandError("--activate needs a single preset slug")
        for one in slugs:
            try:
                result = preset_load(slug=one, activate=options["activate"])
            except LookupError:
                raise CommandError(f"slug: unknown preset {one!r}") from None
            except PresetError as exc:
                raise CommandError(f"preset {one!r} is invalid: {exc}") from None
            state = (
                "created"
                if result.created
                else ("updated" if result.rules_changed else "unchanged")
            )
            active = ", active" if result.preset.is_active else ""
            self.stdout.write(
                f"{one}: preset {state}{active}; {result.documents_published} document version(s) published"
            )
