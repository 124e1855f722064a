"""What a reader makes of a file: items with the annotations they bring, each with its line.

Readers are format-specific and know nothing about the database; the writer validates and
stores what they yield. A bad row is a :class:`RowError` carrying its physical line number.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from annotate.kinds import optional
from annotate.kinds.schema import LabelSchema
from annotate.queue.leases import Provenance

MAX_ID_LENGTH = 200  # Item.external_id and Annotation.annotator_id are String(200)
MAX_TEXT_CHARS = 1_000_000  # one item's text
MAX_JSON_CHARS = 200_000  # one item's meta or data, as JSON
MAX_DEPTH = 32  # nesting of meta, data and answer values
ANNOTATOR_KINDS = ("human", "llm")


class RowError(Exception):
    """A bad row: ``line`` is the physical line (1-based) where its record starts."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(slots=True)
class AnnotationDraft:
    """An answer found in the file, before it is validated against the project's schema."""

    line: int
    value: Any
    provenance: Provenance
    role: str = "annotator"
    phase: str = "final"
    created_at: datetime | None = None
    key_suffix: str = ""


@dataclass(slots=True)
class ItemRecord:
    """One item to create, with the annotations it already has."""

    line: int
    external_id: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    synthetic: bool = False
    annotations: list[AnnotationDraft] = field(default_factory=list)


@dataclass
class Skipped:
    """Counts (and the first few descriptions) of answers left out on purpose."""

    count: int = 0
    notes: list[tuple[int, str]] = field(default_factory=list)
    keep: int = 20

    def add(self, line: int, what: str) -> None:
        self.count += 1
        if len(self.notes) < self.keep:
            self.notes.append((line, what))


def check_text(line: int, text: Any) -> str:
    """The item text: a string that is not empty or only whitespace."""
    if text is None or (isinstance(text, str) and not text.strip()):
        raise RowError(line, "missing or empty text")
    if not isinstance(text, str):
        raise RowError(line, f"text must be a string, not {type(text).__name__}")
    if "\x00" in text:  # PostgreSQL cannot store it; refuse it on every backend alike
        raise RowError(line, "text contains a NUL character")
    return text


def check_id(line: int, raw: Any, fallback: Callable[[int], str]) -> str:
    """The item's external id: the file's id (string or integer), else ``fallback(line)``."""
    if raw is None:
        return fallback(line)
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise RowError(line, f"id must be a string or an integer, not {type(raw).__name__}")
    ext = str(raw).strip()
    if not ext:
        raise RowError(line, "empty id")
    if len(ext) > MAX_ID_LENGTH:
        raise RowError(line, f"id is longer than {MAX_ID_LENGTH} characters")
    return ext


def check_annotator(line: int, annotator: Any) -> str:
    if not isinstance(annotator, str) or not annotator.strip():
        raise RowError(line, "missing or empty annotator")
    clean = str(annotator).strip()
    if len(clean) > MAX_ID_LENGTH:
        raise RowError(line, f"annotator id is longer than {MAX_ID_LENGTH} characters")
    return clean


def check_kind(line: int, kind: Any) -> str:
    if kind not in ANNOTATOR_KINDS:
        raise RowError(line, f"annotator kind {kind!r} is not one of {', '.join(ANNOTATOR_KINDS)}")
    return str(kind)


def is_empty_label(label: Any) -> bool:
    return label is None or (isinstance(label, str) and not label.strip())


def value_from_label(schema: LabelSchema, label: Any) -> Any:
    """Turn a bare label (a CSV cell or a JSON value) into a value of the project's task kind.

    A dict is taken as a full value already; anything else is read by the kind (for example
    multilabel cells separate labels with ``|``, spans and rating cells hold JSON): a
    ValueError says what does not read.
    """
    if isinstance(label, dict):
        return label
    return optional.value_from_label(schema, label)


def label_draft(
    schema: LabelSchema,
    line: int,
    annotator: Any,
    label: Any,
    *,
    skipped: Skipped,
    provenance: Provenance | None = None,
) -> AnnotationDraft | None:
    """An imported answer from a bare label, or None (noted in ``skipped``) when it is empty."""
    annotator_id = check_annotator(line, annotator)
    if is_empty_label(label):
        skipped.add(line, f"empty label from {annotator_id} skipped")
        return None
    try:
        value = value_from_label(schema, label)
    except ValueError as exc:
        raise RowError(line, f"{annotator_id}: {exc}") from None
    prov = provenance or Provenance(annotator_id=annotator_id)
    prov.annotator_id = annotator_id
    prov.source = "import"
    return AnnotationDraft(line=line, value=value, provenance=prov)


def check_record(record: ItemRecord) -> None:
    """Everything a record carries is valid Unicode without NUL, bounded in size and depth
    (so that every later command, export and database can handle it)."""
    line = record.line
    if len(record.text) > MAX_TEXT_CHARS:
        raise RowError(line, f"text is longer than {MAX_TEXT_CHARS:,} characters")
    clean_value(line, record.text, "text")
    clean_value(line, record.external_id, "id")
    for where, value in (("meta", record.meta), ("data", record.data)):
        clean_value(line, value, where)
        if len(json.dumps(value, ensure_ascii=False, default=str)) > MAX_JSON_CHARS:
            raise RowError(line, f"{where} is larger than {MAX_JSON_CHARS:,} characters as JSON")
    for draft in record.annotations:
        clean_value(draft.line, draft.value, "the answer")
        clean_value(draft.line, draft.provenance.annotator_id, "the annotator id")


def clean_value(line: int, value: Any, where: str, depth: int = 0) -> None:
    """Refuse NUL, lone surrogates and nesting deeper than :data:`MAX_DEPTH` in ``value``."""
    if depth > MAX_DEPTH:
        raise RowError(line, f"{where} is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, str):
        _clean_string(line, value, where)
    elif isinstance(value, dict):
        for key, item in value.items():
            _clean_string(line, str(key), f"{where} key")
            clean_value(line, item, f"{where}.{str(key)[:40]}", depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            clean_value(line, item, where, depth + 1)
    elif isinstance(value, float) and math.isnan(value):  # not JSON, not comparable
        raise RowError(line, f"{where} holds NaN")


def _clean_string(line: int, text: str, where: str) -> None:
    if "\x00" in text:
        raise RowError(line, f"{where} contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise RowError(line, f"{where} is not valid Unicode (a lone surrogate "
                             f"U+{ord(text[exc.start]):04X} at character {exc.start + 1})"
                       ) from None
