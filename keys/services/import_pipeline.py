"""The import's CPU side: check, fingerprint and encrypt chunks of lines, optionally in a
worker thread a bounded distance ahead of the database (no database access here).

No plaintext code is kept: a prepared chunk holds ciphertexts and fingerprints only.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from ..crypto import code_clean, code_digest
from ..importfile import MAX_CODE_LENGTH, TOO_LONG
from ..models import KeyStatus


def line_problem(code: str, pattern: re.Pattern | None) -> str:
    if TOO_LONG in code or len(code) > MAX_CODE_LENGTH:
        return _("longer than %(max)d characters") % {"max": MAX_CODE_LENGTH}
    if not code:
        return _("empty line")
    if "\ufffd" in code:
        return _("not valid UTF-8 text")
    if not code.isprintable():
        return _("contains control characters (tab, NUL, …)")
    if pattern is not None and not pattern.fullmatch(code):
        return _("does not match this product's key format")
    return ""


@dataclass
class PreparedChunk:
    """One chunk checked, fingerprinted and encrypted: CPU work only, no database.

    ``rows`` are ready to store (``importing._INSERT_COLUMNS`` order); ``fingerprints`` holds each
    row's (line number, fingerprint) in the same order. No plaintext code is kept.
    """

    last_line: int
    bad: list[tuple[int, str]]
    rows: list[tuple]
    fingerprints: list[tuple[int, str]]


@dataclass(frozen=True)
class ChunkPreparer:
    """What preparing a chunk needs, fixed for the whole import (safe to use in a thread)."""

    pattern: re.Pattern | None
    encrypt: Callable[[str], str]
    product_id: int
    batch_id: int
    run_id: int

    @sensitive_variables()  # error reports never show a code
    def __call__(self, rows: list[tuple[int, str]]) -> PreparedChunk:
        """Format checks, fingerprints, in-chunk duplicates, then encryption of the rest."""
        bad: list[tuple[int, str]] = []
        first_line: dict[str, int] = {}
        stored: list[tuple] = []
        fingerprints: list[tuple[int, str]] = []
        encrypt, now, available = self.encrypt, timezone.now(), KeyStatus.AVAILABLE.value
        head = (self.product_id, self.batch_id, available)
        for number, raw in rows:
            code = code_clean(raw)
            problem = line_problem(code, self.pattern)
            if problem:
                bad.append((number, problem))
                continue
            fingerprint, last4 = code_digest(code)
            seen = first_line.get(fingerprint)
            if seen is not None:
                bad.append((number, _("duplicate of line %(line)d") % {"line": seen}))
                continue
            first_line[fingerprint] = number
            fingerprints.append((number, fingerprint))
            stored.append((*head, encrypt(code), fingerprint, last4, self.run_id, number, now, now))
        return PreparedChunk(last_line=rows[-1][0], bad=bad, rows=stored, fingerprints=fingerprints)


_DONE = object()


@contextmanager
def computed_ahead(items: Iterator, *, depth: int) -> Iterator[Iterator]:
    """``items``, computed in a worker thread at most ``depth`` items ahead of the reader.

    The import's pipeline on PostgreSQL: the next chunks are checked, fingerprinted and
    encrypted while the caller's thread waits on the server storing the current one (the
    wait releases the GIL), so client and server work at the same time. The worker never
    touches the database; it runs in the caller's language (its error messages are
    translated). An exception in the worker is raised in the reader; on leaving the block
    (done, an error, a rejected file) the worker stops after its current item and is
    joined, so nothing reads the caller's input once the block is left.
    """
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    language = translation.get_language()

    def hand(item) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        with translation.override(language):
            try:
                for item in items:
                    if not hand((True, item)):
                        return
            except BaseException as exc:  # handed to the reader, raised there
                hand((False, exc))
                return
            hand((True, _DONE))

    def results() -> Iterator:
        while True:
            ok, item = handoff.get()
            if not ok:
                raise item
            if item is _DONE:
                return
            yield item

    worker = threading.Thread(target=work, name="key-import-prepare", daemon=True)
    worker.start()
    try:
        yield results()
    finally:
        stop.set()
        worker.join()


def chunks_of(rows: Iterable[tuple[int, str]], size: int) -> Iterator[list[tuple[int, str]]]:
    chunk: list[tuple[int, str]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
