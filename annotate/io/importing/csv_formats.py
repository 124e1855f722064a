"""CSV readers: plain items (``text``, optional ``id``) and long-form labelled rows.

Line numbers are physical: a record whose quoted field holds newlines is reported at the
line where it starts (``csv.reader.line_num`` counts the lines consumed so far).
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from annotate.io.importing.context import ReadContext
from annotate.io.importing.lines import decoded_lines
from annotate.io.importing.records import (
    AnnotationDraft,
    ItemRecord,
    RowError,
    check_id,
    check_kind,
    check_text,
    label_draft,
)
from annotate.queue.leases import Provenance

ID_COLUMNS = ("id", "item_id")
KIND_COLUMNS = ("annotator_kind", "annotator_type")
LABEL_COLUMNS = ("annotator", "label")
FIELD_LIMIT = 256 * 1024 * 1024


def delimiter_for(ctx: ReadContext) -> str:
    return "\t" if ctx.path.suffix.lower() == ".tsv" else ","


def csv_rows(stream: BinaryIO, delimiter: str = ",") -> Iterator[tuple[int, list[str]]]:
    """``(start line, fields)`` per record; blank lines are skipped."""
    if csv.field_size_limit() < FIELD_LIMIT:  # long texts are normal here
        csv.field_size_limit(min(FIELD_LIMIT, sys.maxsize))
    reader = csv.reader(decoded_lines(stream), delimiter=delimiter, strict=True)
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise RowError(start, f"bad CSV: {exc}") from None
        if row:
            yield start, row


@dataclass(frozen=True)
class Header:
    """Column positions, by role, of a CSV header."""

    names: tuple[str, ...]
    text: int
    id: int | None
    annotator: int | None
    label: int | None
    kind: int | None

    @property
    def labelled(self) -> bool:
        return self.annotator is not None and self.label is not None

    def meta_columns(self) -> list[tuple[int, str]]:
        used = {self.text, self.id, self.annotator, self.label, self.kind}
        return [(i, name) for i, name in enumerate(self.names) if i not in used]


def parse_header(line: int, row: list[str]) -> Header:
    names = tuple(name.strip() for name in row)
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise RowError(line, f"duplicate column(s) in the header: {', '.join(dupes)}")
    if "text" not in names:
        raise RowError(line, f"no 'text' column (columns: {', '.join(names)})")

    def find(*candidates: str) -> int | None:
        return next((names.index(c) for c in candidates if c in names), None)

    return Header(names=names, text=names.index("text"), id=find(*ID_COLUMNS),
                  annotator=find("annotator"), label=find("label"), kind=find(*KIND_COLUMNS))


def read_header(stream: BinaryIO, delimiter: str) -> tuple[Header, Iterator[tuple[int, list[str]]]]:
    rows = csv_rows(stream, delimiter)
    first = next(rows, None)
    if first is None:
        raise RowError(1, "the file is empty (no header)")
    return parse_header(*first), rows


def _fields(header: Header, line: int, row: list[str]) -> list[str]:
    if len(row) != len(header.names):
        raise RowError(line, f"{len(row)} fields but the header has {len(header.names)}")
    return row


def plain_meta_columns(header: Header) -> list[tuple[int, str]]:
    """The columns a plain CSV keeps as meta: all but text and id, in header order, then
    annotator, label and annotator kind (a labelled file read as plain items)."""
    return header.meta_columns() + [
        (i, header.names[i]) for i in (header.annotator, header.label, header.kind)
        if i is not None
    ]


def read_plain_csv(stream: BinaryIO, ctx: ReadContext) -> Iterator[ItemRecord]:
    """One item per row: ``text``, optional ``id`` (or ``item_id``), other columns as meta."""
    header, rows = read_header(stream, delimiter_for(ctx))
    meta_columns = plain_meta_columns(header)
    for line, row in rows:
        yield _item(header, meta_columns, line, _fields(header, line, row), ctx)


def _item(header: Header, meta_columns: list[tuple[int, str]], line: int, row: list[str],
          ctx: ReadContext) -> ItemRecord:
    raw_id = row[header.id] if header.id is not None else None
    return ItemRecord(
        line=line,
        external_id=check_id(line, raw_id, ctx.fallback_id),
        text=check_text(line, row[header.text]),
        meta={name: row[i] for i, name in meta_columns},
    )


def read_labelled_csv(stream: BinaryIO, ctx: ReadContext) -> Iterator[ItemRecord]:
    """Long form, one row per item x annotator: items and their existing answers.

    Consecutive rows with the same id are one item (text and context from its first row);
    an empty label is skipped and noted.
    """
    header, rows = read_header(stream, delimiter_for(ctx))
    if not header.labelled or header.id is None:
        raise RowError(1, "a labelled CSV needs item_id (or id), text, annotator and label columns")
    meta_columns = header.meta_columns()
    seen: dict[str, int] = {}
    current: ItemRecord | None = None
    annotators: dict[str, int] = {}
    for line, raw in rows:
        row = _fields(header, line, raw)
        ext = check_id(line, row[header.id], ctx.fallback_id)
        if current is None or ext != current.external_id:
            if current is not None:
                yield current
            if ext in seen:
                raise RowError(line, f"item {ext!r} appears again after other items (its rows "
                                     f"start at line {seen[ext]}); keep an item's rows together")
            seen[ext] = line
            current = _item(header, meta_columns, line, row, ctx)
            annotators = {}
        elif row[header.text] != current.text:
            raise RowError(line, f"text of item {ext!r} differs from its first row "
                                 f"(line {current.line})")
        draft = _answer(header, line, row, ctx, annotators)
        if draft is not None:
            current.annotations.append(draft)
    if current is not None:
        yield current


def _answer(header: Header, line: int, row: list[str], ctx: ReadContext,
            annotators: dict[str, int]) -> AnnotationDraft | None:
    assert header.annotator is not None and header.label is not None
    annotator = row[header.annotator].strip()
    if annotator in annotators:
        raise RowError(line, f"{annotator} answers this item twice (lines "
                             f"{annotators[annotator]} and {line})")
    annotators[annotator] = line
    kind_cell = row[header.kind].strip().lower() if header.kind is not None else ""
    kind = check_kind(line, kind_cell or "human")
    prov = Provenance(annotator_id=annotator, annotator_kind=kind,
                      model=annotator if kind == "llm" else None)
    return label_draft(ctx.schema, line, annotator, row[header.label], skipped=ctx.skipped,
                       provenance=prov)
