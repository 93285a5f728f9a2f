"""python manage.py verify_key_encryption [--batch-size N]"""

from django.core.management.base import BaseCommand, CommandError

from keys import services


class Command(BaseCommand):
    help = (
        "Decrypt every stored key code with the configured KEY_ENCRYPTION_KEYS and report "
        "how many read (under the newest key or an older one) and the ids that do not. "
        "Changes nothing. Run it after restoring a backup and before removing an old key; "
        "exits non-zero when any code is unreadable."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=2000)

    def handle(self, *args, **options):
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        result = services.key_encryption_verify(
            batch_size=options["batch_size"],
            on_failure=lambda pk: self.stdout.write(f"unreadable: key #{pk}"),
        )
        self.stdout.write(
            f"{result.examined} keys examined: "
            f"{result.under_newest_key + result.under_older_key} readable "
            f"({result.under_newest_key} under the newest key, {result.under_older_key} under "
            f"an older key), {result.failed} unreadable."
        )
        if result.failed:
            raise CommandError(
                f"{result.failed} key(s) cannot be decrypted with the configured "
                "KEY_ENCRYPTION_KEYS (ids listed above): restore the missing key, or mark "
                "them defective."
            )
