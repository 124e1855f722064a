"""Prodigy JSONL (``prodigy db-out``, or the files its recipes read): one line per answer.

A line holds ``text``, the answer in Prodigy's fields (``spans`` [{start, end, label}],
``label`` for a binary question, ``accept`` with the chosen option ids of a choice
interface), ``answer`` (accept / reject / ignore), ``_annotator_id``, ``_session_id``,
``_input_hash``, ``_task_hash``, ``_timestamp`` and ``meta``. What becomes of it:

- one item per ``id`` (else ``_input_hash``, else text); its id is the line's ``id``, else the
  input hash; ``meta`` and keys Prodigy does not define go to the item's meta;
- each accepted answer under its annotator: ``_annotator_id``, else ``_session_id``, else
  ``prodigy``; a person's accepted labels or spans on several lines of an item add up;
- ``reject`` and ``ignore`` answers are skipped and counted: a rejected label says the label
  is wrong, not which one is right (a rejected span, the same); a line without ``answer``
  is an item to annotate (its spans or label, suggestions at most, are not answers);
- ``tokens``, ``_view_id`` and span token indices are left out (they follow from the text);
- our own export's ``_provenance`` (model, role, confidence, times, ...) is read back, and
  its ``_final`` (the item's final label, derived from the answers) is not imported.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from annotate.io.export_formats.base import CHOICE, LABEL, LABELS, SPANS, value_shape
from annotate.io.importing.context import ReadContext
from annotate.io.importing.grouped import Groups, ItemGroup, plain_answer, provenance_answer
from annotate.io.importing.grouped import timestamp as read_timestamp
from annotate.io.importing.jsonl_formats import base_item, json_records
from annotate.io.importing.records import ItemRecord, RowError, check_id

ANSWER_KEYS = ("spans", "label", "accept", "options", "answer", "_annotator_id",
               "_session_id", "_input_hash", "_task_hash", "_timestamp", "_provenance",
               "_final", "_final_source")
DROPPED = ("tokens", "_view_id", "_is_binary")
ANSWERS = ("accept", "reject", "ignore")
DEFAULT_ANNOTATOR = "prodigy"


def looks_like(first: dict[str, Any]) -> bool:
    """A Prodigy line: it has Prodigy's hashes, annotator/session or answer fields."""
    return any(k in first for k in ("_input_hash", "_task_hash", "_annotator_id",
                                     "_session_id")) or first.get("answer") in ANSWERS


def read_prodigy(stream: BinaryIO, ctx: ReadContext) -> Iterator[ItemRecord]:
    shape = value_shape(ctx.schema)
    if shape not in (LABEL, LABELS, SPANS, CHOICE):
        raise RowError(1, f"Prodigy answers cannot be read into a {ctx.schema.kind} project "
                          "(labels, choices or spans only)")
    groups = Groups()
    for line, obj in json_records(stream):
        group = _group(groups, line, obj, ctx)
        _answer(group, line, obj, shape, ctx)
    yield from groups.records()


def _group(groups: Groups, line: int, obj: dict[str, Any], ctx: ReadContext) -> ItemGroup:
    text = obj.get("text")
    digest = obj.get("_input_hash")
    if obj.get("id") is not None:
        key = f"id:{check_id(line, obj['id'], ctx.fallback_id)}"
    elif digest is not None:
        key = f"_input_hash:{check_id(line, digest, ctx.fallback_id)}"
    else:
        key = f"text:{text}"
    group = groups.get(key, line, text) if isinstance(text, str) else None
    if group is not None:
        return group
    clean = {k: v for k, v in obj.items() if k not in DROPPED}
    if clean.get("id") is None and digest is not None:
        clean["id"] = digest
    return groups.add_item(key, base_item(line, clean, ctx, used=ANSWER_KEYS))


def _answer(group: ItemGroup, line: int, obj: dict[str, Any], shape: str,
            ctx: ReadContext) -> None:
    answer = obj.get("answer")
    if answer is None:
        if any(obj.get(k) for k in ("spans", "label", "accept")):
            ctx.skipped.add(line, "a label or spans without an answer (a suggestion) skipped")
        return
    if answer not in ANSWERS:
        raise RowError(line, f"answer must be one of {', '.join(ANSWERS)}, not {answer!r}")
    annotator = obj.get("_annotator_id") or obj.get("_session_id") or DEFAULT_ANNOTATOR
    if answer != "accept":
        ctx.skipped.add(line, f"{answer.removesuffix('e')}ed answer from {annotator} skipped"
                        + (" (a reject says the answer is wrong, not what is right)"
                           if answer == "reject" else ""))
        return
    value = _value(line, obj, shape, ctx)
    if value is None:
        return
    if "_provenance" in obj:
        provenance_answer(group, line, annotator, value, obj["_provenance"], "_provenance")
        return
    session = obj.get("_session_id")
    meta = {"prodigy_session": session} if session and session != annotator else None
    plain_answer(group, line, annotator, value,
                 created_at=read_timestamp(line, obj.get("_timestamp")), meta=meta)


def _value(line: int, obj: dict[str, Any], shape: str, ctx: ReadContext) -> dict[str, Any] | None:
    if shape == SPANS:
        return {SPANS: _spans(line, obj.get("spans"))}
    if obj.get("accept") is not None:
        names = _accepted(line, obj)
    elif isinstance(obj.get("label"), str):
        names = [obj["label"]]
    else:
        raise RowError(line, "an accepted answer needs 'accept' (chosen options) or 'label'")
    if shape == LABELS:
        return {LABELS: names}
    if not names:
        ctx.skipped.add(line, "an accepted answer that chose no option skipped")
        return None
    if len(names) > 1:
        raise RowError(line, f"{len(names)} options accepted ({', '.join(names)}) but the "
                             f"project takes one {shape} per answer (use a multilabel project)")
    return {shape: names[0]}


def _accepted(line: int, obj: dict[str, Any]) -> list[str]:
    """The chosen options' labels: their ids, or their texts when the ids are numbers."""
    accept = obj["accept"]
    if not isinstance(accept, list):
        raise RowError(line, "'accept' must be a list of option ids")
    texts = {o.get("id"): o.get("text") for o in obj.get("options") or []
             if isinstance(o, dict)}
    names = []
    for choice in accept:
        name = choice if isinstance(choice, str) else texts.get(choice)
        if not isinstance(name, str):
            raise RowError(line, f"accepted option {choice!r} is not a label (no such option "
                                 "with a text)")
        names.append(name)
    return names


def _spans(line: int, raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise RowError(line, f"'spans' must be a list, not {type(raw).__name__}")
    out = []
    for n, span in enumerate(raw):
        if not isinstance(span, dict) or not all(k in span for k in ("start", "end", "label")):
            raise RowError(line, f"spans[{n}] needs start, end and label")
        out.append({k: span[k] for k in ("start", "end", "label")})
    return out
