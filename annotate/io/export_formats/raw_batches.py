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

import itertools
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    Integer,
    Select,
    Text,
    bindparam,
    cast,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from annotate.store.models import Annotation, Item

BATCH = 2000  # items per read: ~2 answers each; memory stays flat at any project size

ITEM_NAMES = ("id", "external_id", "text", "data", "meta", "synthetic")


@dataclass(frozen=True)
class RawBatch:
    """Consecutive items and their answers, as columns: per name of ``ITEM_NAMES``, the
    items' values in id order; ``item_ids``, per answer, its item's database id, and then
    per annotation field its values, ordered by item then answer id. JSON columns hold
    their stored text; the others the values SQLAlchemy would give."""

    items: dict[str, Sequence[Any]]
    item_ids: Sequence[int]  # per answer, its item's database id
    columns: dict[str, Sequence[Any]]  # per annotation field, its values

    @property
    def size(self) -> int:
        return len(self.items["id"])

    @property
    def annotations(self) -> int:
        return len(self.item_ids)


def iter_raw_batches(session: Session, project_id: int,
                     fields: Sequence[str]) -> Iterator[RawBatch]:
    """Every item of the project in id order, ``BATCH`` at a time, with the answers'
    ``fields`` (JSON ones as text).

    The items come from one streamed query; each batch's answers from a query for its range
    of item ids, which walks the item id index and needs no sort. The project's answers in
    one query ordered by item made SQLite sort all of them in a temporary B-tree (it takes
    ``project_id = ?`` to ix_annotations_project_kind): 7.9 s of the 1M-item export against
    4.6 s by the item index; and a query per batch that walked the project's index from its
    start (``id > last ... LIMIT``) was quadratic. Every query runs on the driver's own
    cursor: SQLAlchemy's rows cost a third of a 100k-item export on SQLite (cProfile); its
    type conversions are applied here a column at a time (:class:`_Query`).
    """
    connection = session.connection()
    items = _Query(connection, select(
        Item.id, Item.external_id, Item.text, as_text(Item.data), as_text(Item.meta),
        Item.synthetic).where(Item.project_id == project_id).order_by(Item.id))
    answers = _Query(connection, select(
        Annotation.item_id, *(as_text(getattr(Annotation, name)) for name in fields))
        .where(Annotation.item_id.between(bindparam("first"), bindparam("last")))
        .order_by(Annotation.item_id, Annotation.id))
    with items.streamed(BATCH) as batches, answers.cursor() as cursor:
        for batch in batches:
            item_columns = items.columns(batch)
            ids = item_columns[0]
            rows = answers.rows(cursor, first=ids[0], last=ids[-1])
            if rows and not set(ids).issuperset(row[0] for row in rows):
                wanted = set(ids)  # another project's items lie between this batch's
                rows = [row for row in rows if row[0] in wanted]
            columns = answers.columns(rows)
            yield RawBatch(items=dict(zip(ITEM_NAMES, item_columns, strict=True)),
                           item_ids=columns[0],
                           columns=dict(zip(fields, columns[1:], strict=True)))


_cursor_names = itertools.count()


class _Query:
    """A select run on the driver's cursor, its rows turned into columns with SQLAlchemy's
    conversion for each column's type on this database (e.g. SQLite's text to a datetime,
    its 0/1 to a bool), where it has one."""

    def __init__(self, connection: Connection, query: Select[Any]) -> None:
        self.connection = connection
        self.compiled = query.compile(dialect=connection.dialect,
                                      compile_kwargs={"render_postcompile": True})
        self.types = [column.type for column in query.selected_columns]
        self.convert: list[Callable[[Any], Any] | None] | None = None

    @contextmanager
    def cursor(self, streamed: bool = False) -> Iterator[Any]:
        """A driver cursor; ``streamed``: one that fetches rows as asked (PostgreSQL's
        client cursor would fetch them all at once)."""
        driver = self.connection.connection.driver_connection
        assert driver is not None
        if streamed and self.connection.dialect.name == "postgresql":
            cursor = driver.cursor(f"annotate_export_{next(_cursor_names)}")  # server-side
        else:
            cursor = driver.cursor()
        try:
            yield cursor
        finally:
            # a reader dropped after its session closed (a closed pipe ends the export, the
            # generator is collected later) finds the connection gone: nothing left to close
            with suppress(self.connection.dialect.loaded_dbapi.Error):
                cursor.close()

    @contextmanager
    def streamed(self, size: int, **values: Any) -> Iterator[Iterator[list[Any]]]:
        """The rows, ``size`` at a time."""
        with self.cursor(streamed=True) as cursor:
            self._execute(cursor, values)
            yield iter(lambda: cursor.fetchmany(size), [])

    def rows(self, cursor: Any, **values: Any) -> list[Any]:
        """Every row, on ``cursor``."""
        self._execute(cursor, values)
        return list(cursor.fetchall())

    def _execute(self, cursor: Any, values: dict[str, Any]) -> None:
        params = self.compiled.construct_params(values)
        positions = self.compiled.positiontup
        cursor.execute(self.compiled.string,
                       tuple(params[name] for name in positions) if positions else params)
        if self.convert is None:
            dialect = self.connection.dialect
            self.convert = [kind.dialect_impl(dialect).result_processor(dialect, desc[1])
                            for kind, desc in zip(self.types, cursor.description, strict=True)]

    def columns(self, rows: Sequence[Any]) -> list[Sequence[Any]]:
        """``rows`` as columns of converted values."""
        if not rows:
            return [()] * len(self.types)
        assert self.convert is not None
        return [list(map(convert, values)) if convert is not None else values
                for convert, values in zip(self.convert, zip(*rows, strict=True),
                                           strict=True)]


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


def _each(encode: Callable[[Any], str], values: Sequence[Any]) -> list[str]:
    """``encode`` of each value, ``null`` for None (the loop in C where no value is None)."""
    nulls = values.count(None)
    if not nulls:
        return list(map(encode, values))
    if nulls == len(values):
        return ["null"] * nulls
    return ["null" if v is None else encode(v) for v in values]


def _ints(values: Sequence[Any]) -> list[str]:
    return _each(int.__repr__, values)


_FLOAT_WORDS = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _floats(values: Sequence[Any]) -> list[str]:
    out = _each(float.__repr__, values)
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
    """Each string's JSON text; a column of few distinct values (a kind, a role, the
    people of a project) encodes each once."""
    distinct = set(values)
    if len(distinct) * 4 > len(values):
        return _each(encode_basestring, values)
    texts = {v: "null" if v is None else encode_basestring(v) for v in distinct}
    return list(map(texts.__getitem__, values))


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
