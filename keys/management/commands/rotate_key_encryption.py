"""python manage.py rotate_key_encryption [--batch-size N]"""

from django.core.management.base import BaseCommand, CommandError

from keys import services


class Command(BaseCommand):
    help = (
        "Re-encrypt every key code under the newest key in KEY_ENCRYPTION_KEYS (the first). "
        "Resumable: codes already under the newest key are skipped. Prepend the new key, run "
        "this, then remove the old key."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, **options):
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        result = services.key_encryption_rotate(
            batch_size=options["batch_size"],
            progress=lambda r: self.stdout.write(
                f"... {r.examined} examined, {r.rotated} re-encrypted"
            ),
        )
        self.stdout.write(
            f"{result.examined} keys examined: {result.rotated} re-encrypted, "
            f"{result.already_current} already under the newest key, "
            f"{len(result.failed)} unreadable."
        )
        if result.failed:
            shown = ", ".join(f"#{pk}" for pk in result.failed[:50])
            raise CommandError(
                f"{len(result.failed)} key(s) cannot be decrypted with any configured key "
                f"(tampered, or their key was removed): {shown}. Mark them defective."
            )
