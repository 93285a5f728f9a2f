"""Key import: a file of codes into a batch, all or nothing, streaming.

PostgreSQL stores each chunk with COPY while the next chunks are prepared in a worker
thread (:mod:`keys.services.import_pipeline`); elsewhere one thread prepares and
bulk-inserts in turn. Both store the same rows and report the same bad lines.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_variables

from catalog.models import Product

from ..crypto import code_encryptor
from ..importfile import code_rows, detect_format
from ..models import Key, KeyBatch, KeyImport, Supplier
from .import_pipeline import ChunkPreparer, PreparedChunk, chunks_of, computed_ahead
from .stock_schedule import stock_check_on_commit

logger = logging.getLogger(__name__)

IMPORT_CHUNK = 2000
IMPORT_PREPARE_AHEAD = 2  # chunks prepared while the current one is stored (PostgreSQL)
MAX_REPORTED_LINES = 1000


@dataclass(frozen=True)
class ImportLineError:
    line: int
    reason: str


@dataclass
class ImportReport:
    """The outcome of one import. ``ok`` False means nothing at all was stored."""

    ok: bool
    source_name: str
    lines_read: int = 0
    imported: int = 0
    bad_lines: int = 0
    errors: list[ImportLineError] = field(default_factory=list)
    problem: str = ""  # a whole-file problem (no codes, wrong batch, bad format rule)
    import_id: int | None = None

    @property
    def errors_not_listed(self) -> int:
        return self.bad_lines - len(self.errors)

    @property
    def message(self) -> str:
        if self.ok:
            return ngettext(
                "Imported %(count)d key from %(source)s.",
                "Imported %(count)d keys from %(source)s.",
                self.imported,
            ) % {"count": self.imported, "source": self.source_name}
        if self.problem:
            return _("Nothing was imported from %(source)s: %(problem)s") % {
                "source": self.source_name,
                "problem": self.problem,
            }
        return ngettext(
            "Nothing was imported from %(source)s: %(count)d bad line. "
            "The batch is all-or-nothing: fix the line and import the whole file again.",
            "Nothing was imported from %(source)s: %(count)d bad lines. "
            "The batch is all-or-nothing: fix the lines and import the whole file again.",
            self.bad_lines,
        ) % {"source": self.source_name, "count": self.bad_lines}


class _ImportRejected(Exception):
    pass


class _ImportRun:
    """Per-import state that stays small: the report's first lines and a few counters."""

    def __init__(self, *, report: ImportReport, product, batch, run) -> None:
        self.report, self.product, self.batch, self.run = report, product, batch, run

    def bad(self, line: int, reason: str) -> None:
        self.report.bad_lines += 1
        if len(self.report.errors) < MAX_REPORTED_LINES:
            self.report.errors.append(ImportLineError(line=line, reason=reason))

    def store(self, chunk: PreparedChunk) -> None:
        """Store one prepared chunk; its bad lines are reported in line order."""
        self.report.lines_read = chunk.last_line
        listed = len(self.report.errors)
        for number, reason in chunk.bad:
            self.bad(number, reason)
        self._store(chunk)
        self.report.errors[listed:] = sorted(self.report.errors[listed:], key=lambda e: e.line)

    def _store(self, chunk: PreparedChunk) -> None:
        rows = chunk.rows
        if not rows:
            return
        # The unique fingerprint constraint is the duplicate check against everything
        # stored, earlier lines of this file included (they are in this transaction, and
        # the whole import rolls back if it is rejected). Only when it fires do we look
        # the chunk's codes up, in one query, to say which lines and why.
        try:
            with transaction.atomic():
                _keys_insert(rows)
        except IntegrityError:
            pass
        else:
            self.report.imported += len(rows)
            return
        known = {
            row[0]: row[1:]
            for row in _keys_known(fingerprints=[fp for _n, fp in chunk.fingerprints])
        }
        fresh = []
        for row, (number, fingerprint) in zip(rows, chunk.fingerprints, strict=True):
            hit = known.get(fingerprint)
            if hit is None:
                fresh.append(row)
            elif hit[0] == self.run.pk:
                self.bad(number, _("duplicate of line %(line)d") % {"line": hit[1]})
            elif hit[2] == self.product.pk:
                self.bad(number, _("already in the inventory for this product (in stock or sold)"))
            else:
                self.bad(number, _("already in the inventory under another product"))
        _keys_insert(fresh)
        self.report.imported += len(fresh)


def _keys_known(*, fingerprints: list[str]) -> list[tuple]:
    """(fingerprint, import_run_id, import_line, product_id) of stored keys, one query."""
    if not fingerprints:
        return []
    if connection.vendor == "postgresql":  # one array parameter instead of 2,000
        table = connection.ops.quote_name(Key._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT fingerprint, import_run_id, import_line, product_id "  # noqa: S608
                f"FROM {table} WHERE fingerprint = ANY(%s)",
                [fingerprints],
            )
            return cursor.fetchall()
    return list(
        Key.objects.filter(fingerprint__in=fingerprints).values_list(
            "fingerprint", "import_run_id", "import_line", "product_id"
        )
    )


_INSERT_COLUMNS = (
    "product_id",
    "batch_id",
    "status",
    "ciphertext",
    "fingerprint",
    "last4",
    "import_run_id",
    "import_line",
    "status_changed_at",
    "created_at",
)


def _import_streams() -> bool:
    """The import's streaming path (PostgreSQL): chunks prepared ahead in a worker thread
    and stored with COPY. Elsewhere (SQLite) one thread prepares and bulk-inserts in turn;
    both store the same rows."""
    return connection.vendor == "postgresql"


def _keys_insert(rows: list[tuple]) -> None:
    """Insert new key rows (tuples in _INSERT_COLUMNS order) in the current transaction.

    PostgreSQL: one COPY per chunk (the import's hot path: several times faster than
    INSERT, and the same constraints and indexes apply). Elsewhere: bulk_create.
    """
    if not rows:
        return
    if _import_streams():
        table = connection.ops.quote_name(Key._meta.db_table)
        columns = ", ".join(connection.ops.quote_name(c) for c in _INSERT_COLUMNS)
        with (
            connection.cursor() as cursor,
            connection.wrap_database_errors,  # psycopg errors -> django.db.IntegrityError
            cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    Key.objects.bulk_create(
        [Key(**dict(zip(_INSERT_COLUMNS, row, strict=True))) for row in rows],
        batch_size=IMPORT_CHUNK,
    )


@sensitive_variables()  # error reports never show a code
def key_import(
    *,
    product,
    batch: KeyBatch,
    lines: Iterable[str],
    source_name: str,
    actor=None,
    fmt: str = "auto",
) -> ImportReport:
    """Import codes for ``product`` into ``batch``, all or nothing, streaming.

    ``lines`` is any iterable of text lines (a file opened in text mode, a generator, or
    :func:`keys.importfile.text_lines` over an upload); it is consumed one chunk at a time.
    ``fmt`` is "text" (one code a line), "csv" (a `code` column or the first column) or
    "auto" (CSV when ``source_name`` ends in .csv). Every bad line is reported with its
    number and why; if there is any, nothing is stored and the report says so. A
    KeyImport row records every run, imported or rejected.
    """
    report = ImportReport(ok=False, source_name=source_name)
    problem = ""
    pattern = None
    if batch.product_id != product.pk:
        problem = _("the batch belongs to another product.")
    elif batch.is_quarantined:
        problem = _("the batch is quarantined.")
    elif product.key_format:
        try:
            pattern = re.compile(product.key_format)
        except re.error:
            problem = _("the product's key format is not a valid regular expression.")
    if problem:
        report.problem = problem
        _import_record(report=report, product=product, batch=batch, actor=actor)
        return report

    rows = code_rows(lines=lines, fmt=detect_format(source_name=source_name, fmt=fmt))
    try:
        with transaction.atomic():
            # Lock the product row: imports of one product run one at a time, so two
            # files holding the same code cannot both pass the duplicate check.
            list(Product.objects.select_for_update().filter(pk=product.pk).values_list("pk"))
            run = _import_record(report=report, product=product, batch=batch, actor=actor)
            state = _ImportRun(report=report, product=product, batch=batch, run=run)
            prepare = ChunkPreparer(
                pattern=pattern,
                encrypt=code_encryptor(),
                product_id=product.pk,
                batch_id=batch.pk,
                run_id=run.pk,
            )
            prepared = map(prepare, chunks_of(rows, IMPORT_CHUNK))
            ahead = (
                computed_ahead(prepared, depth=IMPORT_PREPARE_AHEAD)
                if _import_streams()
                else nullcontext(prepared)  # one thread, one chunk at a time
            )
            with _key_references_checked_per_statement(), ahead as chunks:
                for chunk in chunks:
                    state.store(chunk)
            if report.bad_lines or not report.imported:
                raise _ImportRejected
            report.ok = True
            run.outcome, run.lines_read = KeyImport.Outcome.IMPORTED, report.lines_read
            run.imported, run.bad_lines = report.imported, 0
            run.save(update_fields=["outcome", "lines_read", "imported", "bad_lines"])
            stock_check_on_commit(product_ids=[product.pk])
    except _ImportRejected:
        if not report.bad_lines:
            report.problem = _("the file has no codes.")
        report.imported = 0
        _import_record(report=report, product=product, batch=batch, actor=actor)
    except IntegrityError:  # another import stored one of these codes meanwhile
        report.problem = _("another import stored some of these codes at the same time; retry.")
        report.imported = 0
        _import_record(report=report, product=product, batch=batch, actor=actor)
    logger.info(
        "key import %s: %s, %d imported, %d bad line(s)",
        source_name,
        "ok" if report.ok else "rejected",
        report.imported,
        report.bad_lines,
    )
    return report


@contextmanager
def _key_references_checked_per_statement():
    """PostgreSQL: check the key rows' foreign keys at the end of each COPY, not at COMMIT.

    Django declares foreign keys DEFERRABLE INITIALLY DEFERRED, so by default a million
    inserted keys queue three million reference checks in the server's memory and run them
    all at COMMIT while the client waits. Checked per statement they run chunk by chunk,
    while the next chunk is being prepared, and the queue stays one chunk long. The same
    checks run either way; only keys_key's initially deferred constraints are switched,
    and switched back (deferred) when the import is done.
    """
    if not _import_streams():
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass "
            "AND contype = 'f' AND condeferred",
            [Key._meta.db_table],
        )
        names = ", ".join(connection.ops.quote_name(name) for (name,) in cursor.fetchall())
        if names:
            cursor.execute(f"SET CONSTRAINTS {names} IMMEDIATE")
    yield  # on an exception the (sub)transaction rolls back, and PostgreSQL restores the modes
    if names:
        with connection.cursor() as cursor:
            cursor.execute(f"SET CONSTRAINTS {names} DEFERRED")


def _import_record(*, report: ImportReport, product, batch, actor) -> KeyImport:
    run = KeyImport.objects.create(
        product=product,
        batch=batch if batch.pk else None,
        source_name=report.source_name[:255],
        actor=actor if actor is not None and actor.is_authenticated else None,
        outcome=KeyImport.Outcome.IMPORTED if report.ok else KeyImport.Outcome.REJECTED,
        lines_read=report.lines_read,
        imported=report.imported,
        bad_lines=report.bad_lines,
    )
    report.import_id = run.pk
    return run


def batch_create_and_import(
    *,
    product,
    supplier,
    cost_per_key,
    currency: str,
    lines: Iterable[str],
    source_name: str,
    reference: str = "",
    expires_on=None,
    actor=None,
    fmt: str = "auto",
) -> tuple[KeyBatch | None, ImportReport]:
    """A new batch and its keys, together or not at all (no empty batch is left behind).

    ``supplier`` is a Supplier, or a name: an unknown name creates the supplier with the
    batch, and a rejected import leaves neither behind.
    """
    with transaction.atomic():
        if isinstance(supplier, str):
            supplier, _created = Supplier.objects.get_or_create(name=supplier.strip())
        batch = KeyBatch.objects.create(
            supplier=supplier,
            product=product,
            cost_per_key=cost_per_key,
            currency=currency,
            reference=reference,
            expires_on=expires_on,
        )
        report = key_import(
            product=product, batch=batch, lines=lines, source_name=source_name, actor=actor, fmt=fmt
        )
        if not report.ok:
            transaction.set_rollback(True)
    if not report.ok:
        # The rejected run's record was rolled back with the batch: keep it, batch-less.
        KeyImport.objects.create(
            product=product,
            batch=None,
            source_name=source_name[:255],
            actor=actor if actor is not None and actor.is_authenticated else None,
            outcome=KeyImport.Outcome.REJECTED,
            lines_read=report.lines_read,
            bad_lines=report.bad_lines,
        )
        return None, report
    return batch, report
