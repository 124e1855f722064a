"""An import format that is nowhere in the platform's code: ``lines``, registered under the
``annotate.importers`` entry point group. One item per non-empty line of a text file; the
item's id is its line number."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from annotate.io.importing.context import ReadContext
from annotate.io.importing.records import ItemRecord, RowError


def read_lines(stream: BinaryIO, ctx: ReadContext) -> Iterator[ItemRecord]:
    for number, raw in enumerate(stream, start=1):
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise RowError(number, "not valid UTF-8") from None
        if text:
            yield ItemRecord(line=number, external_id=f"line-{number}", text=text,
                             meta={"format": "lines"})
