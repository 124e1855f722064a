"""doccano JSONL: ``text``, ``label``, optional ``id`` and ``user``, other keys as meta.

``label`` is ``[[start, end, tag], ...]`` in a sequence labelling project and a list of
class names (or one name) in a text classification project. A line with ``user`` (or
``annotator``) is that person's answer; a line without one is the file's only answer for
the item, under the annotator ``doccano``; several lines of one item (the same ``id``, else
the same text) are one item with each person's answer. An empty ``label`` on a line without
a user is an item nobody labelled yet. Our own export adds ``annotations``, a list of
``{"user", "label", ...provenance}``: each is read back with its provenance, and the line's
``label`` (the item's final label, derived from them) is then not imported.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from annotate.io.export_formats.base import CHOICE, LABEL, LABELS, SPANS, value_shape
from annotate.io.importing.context import ReadContext
from annotate.io.importing.grouped import Groups, ItemGroup, plain_answer, provenance_answer
from annotate.io.importing.jsonl_formats import base_item, json_records
from annotate.io.importing.records import ItemRecord, RowError, check_id

USED = ("label", "user", "annotator", "annotations")
DEFAULT_ANNOTATOR = "doccano"


def looks_like(first: dict[str, Any]) -> bool:
    """A doccano line: ``text`` with a ``label`` list (spans as triples, or class names)."""
    label = first.get("label")
    return "text" in first and isinstance(label, list) and not any(
        k.startswith("_") for k in first)


def read_doccano(stream: BinaryIO, ctx: ReadContext) -> Iterator[ItemRecord]:
    shape = value_shape(ctx.schema)
    if shape not in (LABEL, LABELS, SPANS, CHOICE):
        raise RowError(1, f"doccano labels cannot be read into a {ctx.schema.kind} project "
                          "(classes or spans only)")
    groups = Groups()
    for line, obj in json_records(stream):
        group = _group(groups, line, obj, ctx)
        if isinstance(obj.get("annotations"), list):
            _exported_answers(group, line, obj["annotations"], shape)
            continue
        user = obj.get("user", obj.get("annotator"))
        raw = obj.get("label")
        if user is None and (raw is None or raw == []):
            continue  # an item nobody labelled
        value = _value(line, raw, shape)
        if value is None:
            ctx.skipped.add(line, f"an empty label from {user or DEFAULT_ANNOTATOR} skipped")
            continue
        plain_answer(group, line, str(user) if user is not None else DEFAULT_ANNOTATOR, value)
    yield from groups.records()


def _group(groups: Groups, line: int, obj: dict[str, Any], ctx: ReadContext) -> ItemGroup:
    text = obj.get("text")
    key = (f"id:{check_id(line, obj['id'], ctx.fallback_id)}" if obj.get("id") is not None
           else f"text:{text}")
    group = groups.get(key, line, text) if isinstance(text, str) else None
    return group or groups.add_item(key, base_item(line, obj, ctx, used=USED))


def _exported_answers(group: ItemGroup, line: int, entries: list[Any], shape: str) -> None:
    for n, entry in enumerate(entries):
        where = f"annotations[{n}]"
        if not isinstance(entry, dict):
            raise RowError(line, f"{where} must be a JSON object")
        rest = {k: v for k, v in entry.items() if k not in ("user", "label")}
        value = _value(line, entry.get("label"), shape, empty_ok=True)
        provenance_answer(group, line, entry.get("user"), value or {}, rest, where)


def _value(line: int, raw: Any, shape: str, *, empty_ok: bool = False) -> dict[str, Any] | None:
    """The answer a doccano ``label`` holds; None for an empty one-class label."""
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raise RowError(line, f"'label' must be a list, not {type(raw).__name__}")
    if shape == SPANS:
        return {SPANS: [_span(line, n, triple) for n, triple in enumerate(raw)]}
    if not all(isinstance(name, str) for name in raw):
        raise RowError(line, "'label' must list class names (spans [start, end, tag] need a "
                             "spans project)")
    if shape == LABELS:
        return {LABELS: raw}
    if len(raw) > 1:
        raise RowError(line, f"{len(raw)} labels ({', '.join(raw)}) but the project takes one "
                             f"{shape} per answer (use a multilabel project)")
    if not raw:
        return {} if empty_ok else None
    return {shape: raw[0]}


def _span(line: int, n: int, triple: Any) -> dict[str, Any]:
    if (not isinstance(triple, list) or len(triple) != 3
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in triple[:2])
            or not isinstance(triple[2], str)):
        raise RowError(line, f"label[{n}] must be [start, end, tag], not {triple!r}")
    return {"start": triple[0], "end": triple[1], "label": triple[2]}
