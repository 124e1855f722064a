"""The fast path of an import (#17 item 3): plain CSV and JSONL read by pyarrow, checked a
column at a time, inserted in bulk.

The row path (a format's reader -> :func:`check_record` -> :class:`BatchWriter`) stays the
reference; this path takes a file only when it is sure to store what the row path would:

- CSV (``csv``): every field as a string; the quoting must be what Python's ``csv`` module
  in strict mode reads the same way (pyarrow forgives text after a closing quote and an
  unclosed quote, Python does not: a file with quotes is matched against the CSV grammar
  first, :data:`_CSV_FIELD`).
- JSONL (``jsonl``): flat objects whose values are all strings (the id may be an integer),
  every key in every line, one object per line and no blank lines. Nested values, nulls and
  numbers stay with the row path (pyarrow would fill missing keys with null, turn 1 into
  1.0 next to 1.5, and cannot tell a null from a missing key).

Every rule of :func:`check_record` and the writer is checked on whole columns before
anything is written: text (present, not blank, no NUL, at most ``MAX_TEXT_CHARS``), ids
(not empty, at most ``MAX_ID_LENGTH``, unique in the file and new to the project), meta
(bounded as JSON). A file that breaks any of them, or that this path cannot read exactly,
goes to the row path, which finds the first bad row and names its ``FILE:LINE``: nothing
has been written by then. Line numbers are needed only to name items the file gives no id
(``STEM-LINE``); such a file takes this path only when every record is one line.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annotate.io.importing.context import ReadContext
from annotate.io.importing.csv_formats import csv_rows, delimiter_for, parse_header
from annotate.io.importing.csv_formats import plain_meta_columns as csv_meta_columns
from annotate.io.importing.records import MAX_ID_LENGTH, MAX_JSON_CHARS, MAX_TEXT_CHARS, RowError
from annotate.io.importing.writer import ITEM_COLUMNS, ITEMS, insert_items
from annotate.projects.policy import RoutingPolicy
from annotate.queue.routing import PlannedItem, plan_initial_tasks
from annotate.store.bulk import bulk_insert
from annotate.store.models import Item, Project, Task, utcnow

if TYPE_CHECKING:
    import pyarrow as pa

FAST_FORMATS = ("csv", "jsonl")
JSONL_ITEM_KEYS = ("data", "meta", "synthetic")  # JSON values: the row path reads them
EXISTING_CHUNK = 2000  # ids per IN list when the project already has items


class NotFast(Exception):
    """This file goes to the row path (``str(exc)`` says why; nothing was written)."""


@dataclass(frozen=True)
class Columns:
    """A file's items, checked, in file order: the ids as Python strings, the rest kept in
    the Arrow table until its batch is written (Python objects for a whole file of a million
    items would take gigabytes)."""

    table: pa.Table
    text: str
    meta: list[tuple[str, str]]  # (column, meta key)
    ids: list[str]

    def batch(self, start: int, size: int) -> tuple[list[str], list[dict[str, str]]]:
        """Texts and meta of the items ``start`` to ``start + size``."""
        part = self.table.slice(start, size)
        texts: list[str] = part[self.text].to_pylist()
        if not self.meta:
            return texts, [{}] * len(texts)  # one dict: its JSON is made once (store.bulk)
        keys = [key for _, key in self.meta]
        values = [part[name].to_pylist() for name, _ in self.meta]
        return texts, [dict(zip(keys, cells, strict=True)) for cells in zip(*values, strict=True)]


@dataclass(frozen=True)
class FastResult:
    items: int
    tasks: int


def read_fast(ctx: ReadContext, fmt: str) -> Columns:
    """The items of ``ctx.path`` in format ``fmt``, checked, or :class:`NotFast`."""
    if fmt not in FAST_FORMATS:
        raise NotFast(f"format {fmt}")
    data = ctx.path.read_bytes()
    if data.count(b"\r") != data.count(b"\r\n"):
        raise NotFast("a carriage return that does not end a line")
    table, text, ids, meta, first_line = (_csv_table(data, ctx) if fmt == "csv"
                                          else _jsonl_table(data))
    if table.num_rows == 0:
        raise NotFast("no items")
    if ids is None:  # named after their lines: only when every record is one line
        lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        if lines != table.num_rows + first_line - 1:
            raise NotFast("records over several lines, or blank lines, and no id column")
    return _checked(table, text, ids, meta, ctx, first_line)


def store_fast(session: Session, project: Project, policy: RoutingPolicy, columns: Columns, *,
               plan_tasks: bool, batch_size: int,
               on_progress: Callable[[int], None] | None) -> FastResult:
    """Insert the items a batch at a time, each batch's tasks planned as the row path does."""
    pid = project.id
    if session.scalar(select(Item.id).where(Item.project_id == pid).limit(1)) is not None:
        _refuse_existing(session, pid, columns.ids)
    tasks_before = _count_tasks(session, pid) if plan_tasks else 0
    floor = session.scalar(select(func.max(Item.id))) or 0
    now = utcnow()
    empty: dict[str, Any] = {}  # one object: its JSON is made once (store.bulk)
    n = len(columns.ids)
    for start in range(0, n, batch_size):
        ids = columns.ids[start:start + batch_size]
        texts, metas = columns.batch(start, batch_size)
        rows = [(pid, ext, text, empty, meta, False, now)
                for ext, text, meta in zip(ids, texts, metas, strict=True)]
        if plan_tasks:
            item_ids = insert_items(session, pid, rows, floor)
            floor = max(item_ids)
            plan_initial_tasks(session, project, policy, [
                PlannedItem(item_id=i, external_id=ext, humans_present=0, llms_present=0)
                for i, ext in zip(item_ids, ids, strict=True)])
        else:  # no ids to read back
            bulk_insert(session, ITEMS, ITEM_COLUMNS, rows)
        if on_progress is not None:
            on_progress(min(start + batch_size, n))
    tasks = _count_tasks(session, pid) - tasks_before if plan_tasks else 0
    return FastResult(items=n, tasks=tasks)


def _count_tasks(session: Session, project_id: int) -> int:
    return session.scalar(
        select(func.count()).select_from(Task).where(Task.project_id == project_id)) or 0


def _refuse_existing(session: Session, project_id: int, ids: list[str]) -> None:
    for start in range(0, len(ids), EXISTING_CHUNK):
        chunk = ids[start:start + EXISTING_CHUNK]
        taken = session.scalar(select(Item.external_id).where(
            Item.project_id == project_id, Item.external_id.in_(chunk)).limit(1))
        if taken is not None:
            raise NotFast(f"id {taken!r} is already in the project")


# --- reading -------------------------------------------------------------------------------

Table = tuple["pa.Table", str, "str | None", list[tuple[str, str]], int]
"""A parsed file: the table, its text column, its id column (or None), its meta columns as
(column, key), and the line of its first record."""

_CSV_FIELD = rb'(?:"(?:[^"]|"")*+"|[^%(d)s"\r\n][^%(d)s\r\n]*+)?'
"""One field as Python's csv module (strict) and pyarrow both read it: quoted and closed
right before a delimiter or a line end, or unquoted without delimiters or line ends."""


def _csv_grammar(delimiter: str) -> re.Pattern[bytes]:
    field = _CSV_FIELD % {b"d": re.escape(delimiter.encode())}
    sep = re.escape(delimiter.encode())
    return re.compile(rb"(?:" + field + rb"(?:" + sep + field + rb")*+(?:\r?\n|\Z))*+\Z")


def _csv_table(data: bytes, ctx: ReadContext) -> Table:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    delimiter = delimiter_for(ctx)
    if b'"' in data and _csv_grammar(delimiter).match(data) is None:
        raise NotFast("quoting that Python's csv module reads differently")
    try:
        line, raw = next(csv_rows(io.BytesIO(data), delimiter))
        header = parse_header(line, raw)
    except (StopIteration, RowError) as exc:
        raise NotFast(f"header: {exc}") from None
    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in raw},
                strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, ValueError) as exc:
        raise NotFast(f"pyarrow: {exc}") from None
    if table.column_names != raw:
        raise NotFast("pyarrow read another header")
    names = table.column_names
    meta = [(names[i], key) for i, key in csv_meta_columns(header)]
    ids = names[header.id] if header.id is not None else None
    return table, names[header.text], ids, meta, line + 1


def _jsonl_table(data: bytes) -> Table:
    import pyarrow as pa
    import pyarrow.json as pajson

    try:
        data.decode("utf-8")  # pyarrow's JSON reader does not check (its CSV reader does)
        table = pajson.read_json(pa.BufferReader(data))
    except (pa.ArrowInvalid, ValueError) as exc:  # UnicodeDecodeError too
        raise NotFast(f"pyarrow: {exc}") from None
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if lines != table.num_rows:  # one object per line, no blank lines: as json.loads reads
        raise NotFast("blank lines, or not one object per line")
    names = table.column_names
    if "text" not in names or any(key in names for key in JSONL_ITEM_KEYS):
        raise NotFast("no text, or JSON values the row path reads")
    for name, column in zip(names, table.columns, strict=True):
        string = pa.types.is_string(column.type)
        if column.null_count or not (string or (name == "id" and pa.types.is_int64(column.type))):
            raise NotFast(f"{name}: {column.type} values or nulls")
    meta = [(name, name) for name in names if name not in ("id", "text")]
    return table, "text", "id" if "id" in names else None, meta, 1


# --- checking ------------------------------------------------------------------------------

_VISIBLE = r"[^\s\p{Z}\x{0b}\x{1c}-\x{1f}\x{85}]"
"""A character Python's ``str.strip`` keeps (its whitespace: ``\\s``, the Z categories and
these controls): a text without one is blank, or close enough to be checked in Python."""


def _checked(table: pa.Table, text: str, id_column: str | None,
             meta: list[tuple[str, str]], ctx: ReadContext, first_line: int) -> Columns:
    import pyarrow as pa
    import pyarrow.compute as pc

    strings = [c for c in table.columns if pa.types.is_string(c.type)]
    if any(pc.any(pc.match_substring(c, "\x00")).as_py() for c in strings):
        raise NotFast("a NUL character")
    column = table[text]
    if (pc.max(pc.utf8_length(column)).as_py() or 0) > MAX_TEXT_CHARS:
        raise NotFast("a text longer than the limit")
    blank = pc.invert(pc.match_substring_regex(column, _VISIBLE))
    if any(not text.strip() for text in pc.filter(column, blank).to_pylist()):
        raise NotFast("an empty text")
    ids = _ids(table, id_column, ctx, first_line)
    _check_meta_size(table, meta)
    if any("\x00" in key for _, key in meta):
        raise NotFast("a NUL character in a column name")
    return Columns(table=table, text=text, meta=meta, ids=ids)


def _ids(table: pa.Table, id_column: str | None, ctx: ReadContext,
         first_line: int) -> list[str]:
    if id_column is None:
        return [ctx.fallback_id(first_line + i) for i in range(table.num_rows)]
    ids = [str(raw).strip() for raw in table[id_column].to_pylist()]
    if not all(ids) or max(map(len, ids)) > MAX_ID_LENGTH:
        raise NotFast("an empty or long id")
    if len(set(ids)) != len(ids):
        raise NotFast("a duplicate id")
    return ids


def _check_meta_size(table: pa.Table, meta: Sequence[tuple[str, Any]]) -> None:
    """Refuse (to the row path) meta that might pass ``MAX_JSON_CHARS`` as JSON: every
    character escaped (6 characters) is the most it can take."""
    import pyarrow.compute as pc

    longest = sum((pc.max(pc.utf8_length(table[name])).as_py() or 0) + len(key) + 6
                  for name, key in meta)
    if 6 * longest + 2 > MAX_JSON_CHARS:
        raise NotFast("meta that may be too large")
