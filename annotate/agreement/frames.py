"""The one adapter from the database to the agreement module's plain frames.

Reports, dashboards, pilots, replays and distillation all read a project's answers through
:func:`annotations_frame`, and every answer's ``label`` is its task kind's one projection
(:meth:`annotate.kinds.base.TaskKind.label`), so the same data gives the same agreement
wherever it is shown. An empty multilabel or spans answer is the label ``(none)``
everywhere; a moderator's "none of them" has no label.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import ClauseElement, Text, cast, select
from sqlalchemy.orm import Session

from annotate.kinds.registry import label_of
from annotate.store.models import Annotation, Item, Project

__all__ = ["COLUMNS", "annotations_frame", "label_of", "latest_answers"]

COLUMNS = ["item_pk", "item_id", "annotator", "annotator_kind", "role", "phase", "value",
           "label", "confidence", "rationale", "text"]
_CHUNK = 50_000  # rows read from the cursor at a time
_DISTINCT_VALUES = 10_000  # decoded answers kept for reuse (most projects have a handful)


def annotations_frame(session: Session, project: Project, *, feature: str | None = None,
                      unbiased: bool = False) -> pd.DataFrame:
    """Every final answer of the project, in the order given: ``item_pk`` (the item's row id),
    ``item_id`` (its external id), annotator, annotator_kind, role, phase, value, label,
    confidence, rationale, text.

    ``unbiased``: people's annotator answers made before they saw a suggestion (blind-first
    answers, and final answers given without one) instead of the assisted final answers, so
    human-LLM agreement is measured before anyone saw the LLM's answer.

    Read lean for large projects: plain rows (no ORM objects) a chunk at a time, each
    answer's JSON decoded (and its label projected) once per distinct text, and repeated
    strings (annotator, kind, role, phase; an item's id and text) shared, not copied per row.
    """
    query = (
        select(Annotation.item_id, Item.external_id, Annotation.annotator_id,
               Annotation.annotator_kind, Annotation.role, Annotation.phase,
               cast(Annotation.value, Text), Annotation.confidence, Annotation.rationale,
               Item.text, Annotation.suggestion_visible)
        .join(Item, Item.id == Annotation.item_id)
        .where(Annotation.project_id == project.id)
        .order_by(Annotation.id))
    if not unbiased:
        query = query.where(Annotation.phase == "final")
    columns = _Columns(_Answers(project.kind, feature))
    for chunk in _driver_rows(session, query):
        columns.add(_kept(chunk) if unbiased else chunk)
    return columns.frame()


def _driver_rows(session: Session, query: ClauseElement) -> Iterator[list[Sequence[Any]]]:
    """The query's rows in chunks, straight from the driver's cursor (SQLAlchemy's result
    rows cost more than the read itself); on PostgreSQL a server-side cursor, so a large
    project is never held twice. The query's only parameters are ids and fixed words,
    inlined by SQLAlchemy's literal rendering."""
    conn = session.connection()
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    driver = conn.connection.driver_connection
    assert driver is not None
    named = conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"
    cursor = driver.cursor(name="annotations_frame") if named else driver.cursor()
    try:
        cursor.execute(sql)
        while chunk := cursor.fetchmany(_CHUNK):
            yield chunk
    finally:
        cursor.close()


def _kept(rows: Iterable[Sequence[Any]]) -> list[Sequence[Any]]:
    """People's unassisted annotator answers and everyone else's final ones."""
    kept = []
    for row in rows:
        kind, role, phase, visible = row[3], row[4], row[5], row[10]
        if kind == "human" and role == "annotator":
            if phase == "final" and visible:
                continue  # an assisted answer: its blind twin (if any) is kept instead
        elif phase != "final":
            continue
        kept.append(row)
    return kept


class _Answers(dict[str | None, tuple[Any, str | None]]):
    """Stored answer text -> (decoded value, label), decoded on first sight. Rows with the
    same text share one decoded value (read-only, like every frame's values)."""

    def __init__(self, kind: str, feature: str | None) -> None:
        super().__init__()
        self.kind, self.feature = kind, feature

    def __missing__(self, text: str | None) -> tuple[Any, str | None]:
        if len(self) >= _DISTINCT_VALUES:  # mostly distinct answers (spans, text): no reuse
            self.clear()
        value = None if text is None else json.loads(text)
        decoded = (value, label_of(self.kind, value, self.feature))
        self[text] = decoded
        return decoded


class _Columns:
    """The frame's columns, filled a chunk of rows at a time."""

    def __init__(self, answers: _Answers) -> None:
        self.answers = answers
        self.data: dict[str, list[Any]] = {name: [] for name in COLUMNS}
        self.strings: dict[Any, Any] = {}  # one object per distinct short string
        self.item_ids: dict[int, Any] = {}  # item row id -> its external id (one object)
        self.texts: dict[int, Any] = {}  # item row id -> its text (one object)

    def add(self, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        (pks, item_ids, who, kinds, roles, phases, values, confidence, rationale, texts,
         _visible) = zip(*rows, strict=True)
        share = self.strings.setdefault
        data = self.data
        data["item_pk"].extend(pks)
        data["item_id"].extend(map(self.item_ids.setdefault, pks, item_ids))
        data["text"].extend(map(self.texts.setdefault, pks, texts))
        for name, column in (("annotator", who), ("annotator_kind", kinds), ("role", roles),
                             ("phase", phases)):
            data[name].extend(map(share, column, column))
        decoded = list(map(self.answers.__getitem__, values))
        data["value"].extend(value for value, _ in decoded)
        data["label"].extend(label for _, label in decoded)
        data["confidence"].extend(confidence)
        data["rationale"].extend(rationale)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.data, columns=COLUMNS)


def latest_answers(frame: pd.DataFrame) -> pd.DataFrame:
    """One answer per item, annotator and role: the latest one (e.g. after two imports), in
    the place of the first."""
    latest: dict[tuple[Any, Any, Any], int] = {}
    for position, key in enumerate(zip(frame["item_pk"], frame["annotator"], frame["role"],
                                       strict=True)):
        latest[key] = position
    return frame.iloc[list(latest.values())].reset_index(drop=True)
