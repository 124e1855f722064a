"""Reading a file as UTF-8 text line by line, so a bad byte is reported at its physical line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from annotate.io.importing.records import RowError

BOM = b"\xef\xbb\xbf"


def decoded_lines(stream: BinaryIO) -> Iterator[str]:
    """Each line of ``stream`` decoded as UTF-8 (a leading BOM dropped), line ends kept.

    Raises :class:`RowError` at the first line that is not valid UTF-8.
    """
    for number, raw_line in enumerate(stream, start=1):
        raw = raw_line[len(BOM) :] if number == 1 and raw_line.startswith(BOM) else raw_line
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = raw[exc.start]
            raise RowError(
                number, f"not valid UTF-8 (byte 0x{bad:02x} at column {exc.start + 1})"
            ) from None


def numbered_lines(stream: BinaryIO) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` for every line that is not blank."""
    for number, line in enumerate(decoded_lines(stream), start=1):
        if line.strip():
            yield number, line


def first_line(path: Path) -> tuple[int, str] | None:
    """The first non-blank line of ``path`` and its number, or None for an empty file."""
    with path.open("rb") as stream:
        return next(numbered_lines(stream), None)
