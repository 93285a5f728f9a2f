"""Reading key files as a stream: one code a line, or CSV with a `code` column.

Nothing here reads a file whole: lines are pulled one at a time, and an over-long line is
skipped to its end in small pieces (it is reported, not loaded). No database access.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import BinaryIO

MAX_CODE_LENGTH = 200
_READ_LIMIT = MAX_CODE_LENGTH * 4 + 64  # bytes of one line we ever hold (UTF-8, CSV quotes)
TOO_LONG = "\ue000too-long\ue000"  # private-use marker for a line that was not loaded


def text_lines(*, stream: BinaryIO) -> Iterator[str]:
    """Decoded lines of a binary stream (UTF-8, BOM allowed), each at most ~1 KB.

    Undecodable bytes become U+FFFD (and the line is then rejected by the import as not
    UTF-8 text). A longer line yields the TOO_LONG marker instead of its content.
    """
    first = True
    while True:
        raw = stream.readline(_READ_LIMIT)
        if not raw:
            return
        if len(raw) == _READ_LIMIT and not raw.endswith(b"\n"):
            while True:  # skip the rest of an over-long line without holding it
                rest = stream.readline(_READ_LIMIT)
                if not rest or rest.endswith(b"\n"):
                    break
            yield TOO_LONG + "\n"
            first = False
            continue
        if first and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        first = False
        yield raw.decode("utf-8", errors="replace")


def detect_format(*, source_name: str, fmt: str = "auto") -> str:
    if fmt in ("csv", "text"):
        return fmt
    return "csv" if source_name.lower().endswith(".csv") else "text"


def code_rows(*, lines: Iterable[str], fmt: str) -> Iterator[tuple[int, str]]:
    """(line number, raw code) for each record. Line numbers are the file's, from 1.

    Text: every line is one code. CSV: a first row with a cell named ``code`` is a header
    and selects that column; without one, the first column holds the code.
    """
    if fmt == "text":
        for number, line in enumerate(lines, start=1):
            yield number, line.rstrip("\r\n")
        return
    reader = csv.reader(_strip_newlines(lines))
    column = 0
    for row in reader:
        number = reader.line_num
        if number == 1:
            names = [cell.strip().lower() for cell in row]
            if "code" in names:
                column = names.index("code")
                continue
        if not row or column >= len(row):
            yield number, ""
        else:
            yield number, row[column]


def _strip_newlines(lines: Iterable[str]) -> Iterator[str]:
    for line in lines:
        yield line.rstrip("\r\n")
