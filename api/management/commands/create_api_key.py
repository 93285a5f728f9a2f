from django.core.management.base import BaseCommand, CommandError

from api import services
from api.models import Scope


class Command(BaseCommand):
    help = (
        "Create a merchant API key and print it once (only its hash is stored). "
        f"Scopes: {', '.join(Scope.values)}."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--name", required=True, help="What the key is for, e.g. 'supplier feed'."
        )
        parser.add_argument(
            "--scopes",
            nargs="*",
            default=[Scope.CATALOG_READ],
            help="Space- or comma-separated scopes (default: catalog:read); 'all' for every one.",
        )

    def handle(self, *args, name, scopes, **options):
        wanted = [part.strip() for item in scopes for part in item.split(",") if part.strip()]
        if "all" in wanted:
            wanted = list(Scope.values)
        try:
            api_key, raw = services.api_key_create(name=name, scopes=wanted)
        except services.ApiKeyError as exc:
            raise CommandError(str(exc))
        self.stderr.write(
            f"API key '{api_key.name}' (prefix {api_key.prefix}) with scopes: "
            f"{', '.join(api_key.scopes) or '(none)'}. It is shown once; store it now."
        )
        self.stdout.write(raw)
