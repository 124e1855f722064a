"""Files with one line per answer (Prodigy, doccano): lines grouped into items, each
person's answer kept under their own annotator id.

The same item appears once per annotator (and, in Prodigy's binary interfaces, once per
label or span asked about): lines are grouped by the item's id, else its input hash, else
its text, and become one :class:`ItemRecord` at the place of their first line. A person's
accepted labels or spans on several lines of one item are merged into one answer; two
different one-label answers from the same person are refused with both lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from annotate.io.exporting import ExportedAnnotation
from annotate.io.importing.jsonl_formats import _exported_draft
from annotate.io.importing.records import AnnotationDraft, ItemRecord, RowError, check_annotator
from annotate.queue.leases import Provenance

MERGED = ("labels", "spans")
"""The value fields whose lists a person's several lines on one item add up to."""


@dataclass
class ItemGroup:
    record: ItemRecord
    key: str
    answers: dict[str, AnnotationDraft] = field(default_factory=dict)
    merged: set[str] = field(default_factory=set)  # answers read without our provenance
    seen: dict[str, int] = field(default_factory=dict)


class Groups:
    """Items in the order of their first line, with their answers."""

    def __init__(self) -> None:
        self._groups: dict[str, ItemGroup] = {}

    def get(self, key: str, line: int, text: str) -> ItemGroup | None:
        group = self._groups.get(key)
        if group is not None and group.record.text != text:
            raise RowError(line, f"the text differs from line {group.record.line}, which has "
                                 f"the same {key.split(':', 1)[0]}")
        return group

    def add_item(self, key: str, record: ItemRecord) -> ItemGroup:
        group = self._groups[key] = ItemGroup(record, key)
        return group

    def records(self) -> Iterator[ItemRecord]:
        for group in self._groups.values():
            group.record.annotations = list(group.answers.values())
            yield group.record


def plain_answer(group: ItemGroup, line: int, annotator: Any, value: dict[str, Any], *,
                 created_at: datetime | None = None,
                 meta: dict[str, Any] | None = None) -> None:
    """A person's answer read from the format's own fields (no provenance of ours)."""
    who = check_annotator(line, annotator)
    earlier = group.answers.get(who)
    if earlier is not None:
        if who not in group.merged or not _merge(earlier.value, value):
            raise RowError(line, f"a second answer from {who} on this item (the first is at "
                                 f"line {earlier.line})")
        return
    prov = Provenance(annotator_id=who, annotator_kind="human", source="import",
                      meta=meta or None)
    group.answers[who] = AnnotationDraft(line=line, value=value, provenance=prov,
                                         created_at=_naive_utc(created_at))
    group.merged.add(who)


def _merge(into: dict[str, Any], value: dict[str, Any]) -> bool:
    """Add ``value``'s labels or spans to ``into``; False when the values do not add up."""
    fields = set(into) & set(value) & set(MERGED)
    if len(into) != 1 or set(into) != set(value) or not fields:
        return into == value
    name = fields.pop()
    into[name] += [x for x in value[name] if x not in into[name]]
    return True


def provenance_answer(group: ItemGroup, line: int, annotator: Any, value: dict[str, Any],
                      provenance: Any, where: str) -> None:
    """An answer we exported, with its provenance (``where`` names the field in errors)."""
    if not isinstance(provenance, dict):
        raise RowError(line, f"{where} must be a JSON object")
    try:
        ann = ExportedAnnotation.model_validate({"annotator_kind": "human", **provenance,
                                                 "annotator_id": annotator,
                                                 "value": value})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise RowError(line, f"{where}.{loc}: {first['msg']}") from None
    draft = _exported_draft(line, ann, group.seen)
    key = f"{ann.annotator_id}{draft.key_suffix}"
    if key in group.answers:
        raise RowError(line, f"a second answer from {ann.annotator_id} on this item (the "
                             f"first is at line {group.answers[key].line})")
    group.answers[key] = draft


def _naive_utc(when: datetime | None) -> datetime | None:
    if when is not None and when.tzinfo is not None:
        return when.astimezone(UTC).replace(tzinfo=None)
    return when


def timestamp(line: int, raw: Any) -> datetime | None:
    """A Unix time in seconds (Prodigy's ``_timestamp``) as naive UTC."""
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise RowError(line, f"_timestamp must be a number of seconds, not {raw!r}")
    try:
        return datetime.fromtimestamp(raw, UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        raise RowError(line, f"_timestamp {raw} is out of range") from None
