"""``prodigy``: Prodigy JSONL, one line per answer, as ``prodigy db-out`` writes a dataset.

Each answer is a line with the item's ``text``, ``id`` and ``meta``, the answer in
Prodigy's fields (``options`` with ``accept`` for labels and choices, ``spans`` for spans),
``answer: "accept"``, ``_annotator_id`` (our annotator id), ``_session_id``
(the same), ``_input_hash``/``_task_hash`` and ``_timestamp``. Two keys
Prodigy keeps but does not read carry the rest: ``_provenance`` (kind, role, model,
confidence, rationale, cost, times: the fields that differ from a person's plain answer)
and ``_final`` with ``_final_source`` (the item's final answer in the same fields, and
whether an adjudicator, a moderator or the majority gave it). An item nobody answered is a
line without ``answer``. ``annotate import --format prodigy`` reads it all back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC
from typing import IO, Any

from annotate.io.export_formats.base import (
    CHOICE,
    LABEL,
    LABELS,
    SPANS,
    SchemaExporter,
    is_decision,
    provenance,
)

SHAPES = (LABEL, LABELS, SPANS, CHOICE)


def prodigy_hash(*parts: Any) -> int:
    """A stable signed 32-bit hash, the range of Prodigy's own ``_input_hash``."""
    digest = hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


class ProdigyExporter(SchemaExporter):
    format_name = "prodigy"
    shapes = SHAPES

    def write(self, items: Iterable[dict[str, Any]], out: IO[Any]) -> None:
        schema, shape = self.bound()
        names = schema.choices() if shape == CHOICE else schema.labels
        options = [{"id": name, "text": name} for name in names]
        none_decisions = 0
        for item in items:
            task = _task(item, shape, options)
            final, source = self.final(item)
            if final is not None:
                task["_final"], task["_final_source"] = _fields(final, shape), source
            answers = [a for a in item["annotations"] if not is_decision(a)]
            none_decisions += len(item["annotations"]) - len(answers)
            if not answers:
                out.write(_line(task))
            for answer in answers:
                out.write(_line({**task, **_answer(item, answer, shape)}))
        if none_decisions:
            self.cannot_carry.append(f'{none_decisions} "none of them" decisions')
        self.cannot_carry.append("provenance, final answers and item data in Prodigy's own "
                                 "terms (kept under _provenance, _final and data, which "
                                 "Prodigy keeps but does not read)")


def _task(item: dict[str, Any], shape: str, options: list[dict[str, str]]) -> dict[str, Any]:
    task: dict[str, Any] = {"text": item["text"], "id": item["id"],
                            "meta": item["meta"], "_input_hash": prodigy_hash(item["text"])}
    if item["data"]:
        task["data"] = item["data"]
    if item["synthetic"]:
        task["synthetic"] = True
    if shape != SPANS:
        task["options"] = options
    return task


def _fields(value: dict[str, Any], shape: str) -> dict[str, Any]:
    if shape == SPANS:
        return {SPANS: [{k: s[k] for k in ("start", "end", "label")} for s in value[SPANS]]}
    chosen = value[LABELS] if shape == LABELS else [value[shape]]
    return {"accept": list(chosen)}


def _answer(item: dict[str, Any], answer: dict[str, Any], shape: str) -> dict[str, Any]:
    fields = _fields(answer["value"], shape)
    who = answer["annotator_id"]
    line: dict[str, Any] = {
        **fields, "answer": "accept", "_annotator_id": who,
        "_session_id": who,
        "_task_hash": prodigy_hash(item["text"], fields),
    }
    if answer.get("created_at") is not None:
        line["_timestamp"] = int(answer["created_at"].replace(tzinfo=UTC).timestamp())
    extra = provenance(answer)
    if extra:
        line["_provenance"] = extra
    return line


def _line(task: dict[str, Any]) -> str:
    return json.dumps(task, ensure_ascii=False) + "\n"
