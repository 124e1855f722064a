"""A project read for export a batch at a time, as plain columns, with JSON kept as its text.

The JSONL and Parquet exports write every item and answer of a project; at a million items
the time went into SQLAlchemy decoding each JSON column into dicts that were encoded again
at once, and into a dict built per answer (cProfile of a 100k-item export). Here JSON
columns are read as text (``CAST(... AS TEXT)``, which both SQLite and PostgreSQL's ``json``
type return as stored) and spliced into the output as is, and the other values are encoded
a column at a time.

The splice is exact because the store writes JSON only through SQLAlchemy's serializer,
``json.dumps`` with its default separators; what the export writes is
``json.dumps(value, ensure_ascii=False)``, which differs from that text only where a
non-ASCII character (or a backslash-``u`` in a string) was escaped: such texts, and any
other value the fast encoders do not recognise, go through ``json.loads``/``json.dumps``.
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, Text, cast, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from annotate.store.models import Annotation, Item

_item_id = itemgetter(0)
BATCH = 2000  # items per read: ~2 answers each; memory stays flat at any project size

ITEM_NAMES = ("id", "external_id", "text", "data", "meta", "synthetic")


@dataclass(frozen=True)
class RawBatch:
    """Consecutive items (rows of ``ITEM_NAMES``) and their answers, as columns of
    ``item_id`` then the given annotation fields, ordered by item then answer id; JSON
    columns hold their stored text."""

    items: Sequence[Any]
    item_ids: Sequence[int]  # per answer, its item's database id
    columns: dict[str, Sequence[Any]]  # per annotation field, its values

    @property
    def annotations(self) -> int:
        return len(self.item_ids)


def iter_raw_batches(session: Session, project_id: int,
                     fields: Sequence[str]) -> Iterator[RawBatch]:
    """Every item of the project in id order, ``BATCH`` at a time, with the answers'
    ``fields`` (JSON ones as text).

    Two streamed queries, items by id and answers by item then id, merged as they come: a
    query per batch (``id > last ... LIMIT``) made SQLite walk the project's index from its
    start each time, quadratic in the project's size.
    """
    streamed = session.connection().execution_options(stream_results=True, yield_per=BATCH)
    items = streamed.execute(  # Core rows: the ORM's loading cost a third of the time
        select(Item.id, Item.external_id, Item.text, as_text(Item.data), as_text(Item.meta),
               Item.synthetic)
        .where(Item.project_id == project_id).order_by(Item.id))
    answers = streamed.execute(
        select(Annotation.item_id, *(as_text(getattr(Annotation, name)) for name in fields))
        .where(Annotation.project_id == project_id)
        .order_by(Annotation.item_id, Annotation.id))
    chunks = answers.partitions(2 * BATCH)
    pending: list[Any] = []
    for batch in items.partitions(BATCH):
        last = batch[-1][0]
        while not pending or pending[-1][0] <= last:
            chunk = next(chunks, None)
            if chunk is None:
                break
            pending.extend(chunk)
        cut = bisect_right(pending, last, key=_item_id)
        skip = bisect_left(pending, batch[0][0], 0, cut, key=_item_id)  # none: every answer's
        rows, pending = pending[skip:cut], pending[cut:]  # item is in the project
        columns = list(zip(*rows, strict=True)) if rows else [()] * (len(fields) + 1)
        yield RawBatch(items=batch, item_ids=columns[0],
                       columns=dict(zip(fields, columns[1:], strict=True)))


def as_text(column: Any) -> ColumnElement[Any]:
    """A JSON column as its stored text; any other column as it is."""
    if isinstance(column.type, JSON):
        return cast(column, Text).label(column.key)
    return column  # type: ignore[no-any-return]


# ---- JSON text of one column's values ------------------------------------------------------


def _exact(values: Sequence[Any]) -> list[str]:
    return [json.dumps(v, ensure_ascii=False, default=_iso) for v in values]


def _iso(value: Any) -> str:
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    raise TypeError(f"cannot export {type(value).__name__}")


def _ints(values: Sequence[Any]) -> list[str]:
    return ["null" if v is None else int.__repr__(v) for v in values]


_FLOAT_WORDS = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _floats(values: Sequence[Any]) -> list[str]:
    out = ["null" if v is None else float.__repr__(v) for v in values]
    joined = " ".join(out)
    if "nan" in joined or "inf" in joined:  # json's words for nan and infinities
        out = [_FLOAT_WORDS.get(s, s) for s in out]
    return out


def _bools(values: Sequence[Any]) -> list[str]:
    for v in values:
        if v is not None and v is not True and v is not False:
            raise TypeError("not a bool")
    return ["null" if v is None else "true" if v else "false" for v in values]


def _strings(values: Sequence[Any]) -> list[str]:
    return ["null" if v is None else encode_basestring(v) for v in values]


def _times(values: Sequence[Any]) -> list[str]:
    return ["null" if v is None else f'"{v.isoformat()}"' for v in values]


def json_text(raw: str | None, or_empty: bool = False) -> str:
    """The stored JSON text ``raw`` as ``json.dumps(value, ensure_ascii=False)`` writes its
    value (``value or {}`` when ``or_empty``)."""
    if raw is None:
        return "{}" if or_empty else "null"
    if "\\u" in raw or (or_empty and not raw.startswith("{")):
        value = json.loads(raw)
        return json.dumps(value or {} if or_empty else value, ensure_ascii=False)
    return raw


def json_texts(values: Sequence[str | None]) -> list[str]:
    """:func:`json_text` of each (inlined: a call per value costs more than the rest)."""
    return [v if v is not None and "\\u" not in v else json_text(v) for v in values]


def json_texts_or_empty(values: Sequence[str | None]) -> list[str]:
    """:func:`json_text` of each, ``or_empty``."""
    return [v if v is not None and v[:1] == "{" and "\\u" not in v else json_text(v, True)
            for v in values]


Encoder = Callable[[Sequence[Any]], list[str]]


def column_encoder(column: Any, or_empty: bool = False) -> Encoder:
    """How to write a column's values as JSON, by the column's type; a value not of the
    type the column declares (SQLite keeps whatever it was given) makes the whole column go
    through ``json.dumps``."""
    kind = column.type
    if isinstance(kind, JSON):
        return json_texts_or_empty if or_empty else json_texts
    fast = _strings
    for sql_type, encoder in ((Boolean, _bools), (Integer, _ints), (Float, _floats),
                              (DateTime, _times)):
        if isinstance(kind, sql_type):
            fast = encoder
            break

    def encode(values: Sequence[Any]) -> list[str]:
        try:
            return fast(values)
        except (TypeError, AttributeError):
            return _exact(values)

    return encode
