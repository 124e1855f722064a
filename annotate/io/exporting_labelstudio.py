"""``export --format labelstudio``: a JSON array of tasks Label Studio imports.

Each item is a task ``{"data": {...}, "annotations": [...], "predictions": [...]}``:

- ``data``: ``text``, the fields the project's labeling config reads (the kind's
  ``task_data``: option texts, candidates), ``annotate_external_id`` (the item's id, as
  ``annotate ls push`` sends it), and ``annotate_data``/``annotate_meta``/``annotate_synthetic``
  when the item has them;
- a person's answer is an annotation (``result`` from the kind's Label Studio mapping,
  ``lead_time`` = the seconds spent), a model's a prediction (``model_version`` = the model,
  ``score`` = the confidence);
- each answer carries an ``annotate`` object with its whole provenance (annotator, role,
  guideline version, prompt hash, cost, ...), which ``import --format labelstudio`` reads
  back; Label Studio itself ignores it.

``completed_by`` is left out: Label Studio refuses an import naming a user it does not know
and gives each annotation to the user who imports the file (the names stay in ``annotate``).
The labeling config for the file is ``annotate ls config PROJECT``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import IO, Any

from annotate.errors import InvalidInput
from annotate.io.labelstudio_results import TEXT, form_of, to_result
from annotate.kinds.base import LabelStudioForm
from annotate.kinds.schema import LabelSchema

OURS = "annotate"


class LabelStudioExporter:
    binary = False

    def __init__(self, schema: LabelSchema | None = None) -> None:
        self.schema = schema
        self.cannot_carry: list[str] = []

    def for_schema(self, schema: LabelSchema) -> LabelStudioExporter:
        return LabelStudioExporter(schema)

    def write(self, items: Iterable[dict[str, Any]], out: IO[Any]) -> None:
        if self.schema is None:
            raise InvalidInput("a Label Studio export needs the project's schema")
        schema, form = self.schema, form_of(self.schema)  # no layout: refused before writing
        unconverted = people = 0
        out.write("[")
        for n, item in enumerate(items):
            task, skipped = labelstudio_task(schema, form, item)
            unconverted += skipped
            people += len(task["annotations"])
            out.write(("\n" if n == 0 else ",\n") + json.dumps(task, ensure_ascii=False))
        out.write("\n]\n")
        if unconverted:
            self.cannot_carry.append(f"{unconverted:,} answers that are no value of the kind "
                                     "(e.g. a moderator's 'none of them'), left out")
        if people:
            self.cannot_carry.append("who made each annotation, once Label Studio imports the "
                                     "file (it gives them to the importing user; the names "
                                     "stay in each answer's 'annotate' field)")


def labelstudio_task(schema: LabelSchema, form: LabelStudioForm,
                     item: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """One exported item as a Label Studio task, and how many answers had no result."""
    text = item["text"]
    data: dict[str, Any] = {TEXT: text, **form.task_data(schema, item["data"], ()),
                            "annotate_external_id": item["id"]}
    for key in ("data", "meta", "synthetic"):
        if item[key]:
            data[f"annotate_{key}"] = item[key]
    task: dict[str, Any] = {"data": data, "annotations": [], "predictions": []}
    skipped = 0
    for ann in item["annotations"]:
        try:
            result = to_result(schema, ann["value"], text)
        except InvalidInput:
            skipped += 1
            continue
        ours = {k: _plain(v) for k, v in ann.items()}  # the value too: it may hold more
        if ann["annotator_kind"] == "human":
            task["annotations"].append({
                "result": result, "was_cancelled": False, "ground_truth": False,
                "lead_time": ann["human_seconds"], "created_at": ours["created_at"],
                OURS: ours})
        else:
            task["predictions"].append({
                "result": result, "model_version": ann["model"] or ann["annotator_id"],
                "score": ann["confidence"], OURS: ours})
    return task, skipped


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
