"""python manage.py import_keys --product SKU (--batch ID | --supplier NAME --cost X) FILE|-"""

from __future__ import annotations

import sys
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date

from catalog.models import Product
from keys import services
from keys.importfile import text_lines
from keys.models import KeyBatch


class Command(BaseCommand):
    help = (
        "Import key codes (one a line, or CSV with a 'code' column) into a batch, all or "
        "nothing. Every bad line is reported with its number. FILE '-' reads stdin."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="path to the key file, or - for stdin")
        parser.add_argument("--product", required=True, help="product SKU")
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--batch", type=int, help="id of an existing batch")
        target.add_argument("--supplier", help="supplier name: creates a new batch")
        parser.add_argument("--cost", help="cost per key of the new batch (with --supplier)")
        parser.add_argument("--currency", default="EUR")
        parser.add_argument("--reference", default="", help="supplier's invoice or order number")
        parser.add_argument("--expires-on", help="printed expiry of gift codes, YYYY-MM-DD")
        parser.add_argument("--format", choices=["auto", "text", "csv"], default="auto")

    def handle(self, *args, **options):
        try:
            product = Product.objects.get(sku=options["product"])
        except Product.DoesNotExist:
            raise CommandError(f"No product with SKU {options['product']!r}.")
        source = "stdin" if options["file"] == "-" else options["file"]
        if options["file"] == "-":
            report = self._run(product, sys.stdin.buffer, source, options)
        else:
            try:
                stream = open(options["file"], "rb")  # noqa: SIM115 - closed below
            except OSError as exc:
                raise CommandError(f"Cannot read {source}: {exc.strerror}.")
            with stream:
                report = self._run(product, stream, source, options)
        for error in report.errors:
            self.stderr.write(f"line {error.line}: {error.reason}")
        if report.errors_not_listed:
            self.stderr.write(f"... and {report.errors_not_listed} more bad line(s)")
        if not report.ok:
            raise CommandError(report.message)
        self.stdout.write(self.style.SUCCESS(report.message))

    def _run(self, product, stream, source, options):
        lines = text_lines(stream=stream)
        if options["batch"] is not None:
            try:
                existing = KeyBatch.objects.get(pk=options["batch"])
            except KeyBatch.DoesNotExist:
                raise CommandError(f"No batch #{options['batch']}.")
            return services.key_import(
                product=product,
                batch=existing,
                lines=lines,
                source_name=source,
                fmt=options["format"],
            )
        try:
            cost = Decimal(options["cost"] or "")
        except InvalidOperation:
            raise CommandError("--cost is required with --supplier (e.g. --cost 4.20).")
        if cost < 0:
            raise CommandError("--cost cannot be negative.")
        expires_on = None
        if options["expires_on"]:
            expires_on = parse_date(options["expires_on"])
            if expires_on is None:
                raise CommandError("--expires-on must be a date, YYYY-MM-DD.")
        batch, report = services.batch_create_and_import(
            product=product,
            supplier=options["supplier"],
            cost_per_key=cost,
            currency=options["currency"].upper(),
            reference=options["reference"],
            expires_on=expires_on,
            lines=lines,
            source_name=source,
            fmt=options["format"],
        )
        if batch is not None:
            self.stdout.write(f"New batch #{batch.pk} from {batch.supplier.name}.")
        return report
