"""``doccano``: doccano JSONL, one line per item, the form doccano imports and exports.

A line holds ``id``, ``text`` and ``label``: the item's final answer (the adjudicator's,
else the moderator's, else the majority's; ``[]`` while unresolved), as ``[[start, end,
tag], ...]`` for spans and a list of class names for labels and choices. Every answer
follows in ``annotations``: ``{"user": annotator id, "label": ..., provenance}`` (doccano
keeps the key as metadata; ``annotate import --format doccano`` reads each answer back),
then ``meta`` and ``data`` when the item has them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
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


class DoccanoExporter(SchemaExporter):
    format_name = "doccano"
    shapes = SHAPES

    def write(self, items: Iterable[dict[str, Any]], out: IO[Any]) -> None:
        _, shape = self.bound()
        none_decisions = 0
        for item in items:
            final, _ = self.final(item)
            answers = [a for a in item["annotations"] if not is_decision(a)]
            none_decisions += len(item["annotations"]) - len(answers)
            line: dict[str, Any] = {
                "id": item["id"], "text": item["text"],
                "label": doccano_label(final, shape) if final is not None else [],
                "annotations": [{"user": a["annotator_id"],
                                 "label": doccano_label(a["value"], shape), **provenance(a)}
                                for a in answers],
            }
            for key in ("meta", "data", "synthetic"):
                if item[key]:
                    line[key] = item[key]
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
        if none_decisions:
            self.cannot_carry.append(f'{none_decisions} "none of them" decisions')
        self.cannot_carry.append("answers and their provenance in doccano's own terms (doccano "
                                 "shows the final label; the rest is kept under annotations)")


def doccano_label(value: dict[str, Any], shape: str) -> list[Any]:
    """A value as doccano's ``label``: ``[start, end, tag]`` triples or class names."""
    if shape == SPANS:
        return [[s["start"], s["end"], s["label"]] for s in value[SPANS]]
    return list(value[LABELS]) if shape == LABELS else [value[shape]]
