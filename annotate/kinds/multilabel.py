"""``multilabel``: every label that applies (possibly none), ``{"labels": ["a", "c"]}``."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from annotate.kinds.base import (
    NONE,
    LSControls,
    LSResult,
    Strict,
    ls_choices,
    ls_chosen,
    ls_item,
    ls_text,
    needs_labels,
    require_label,
)
from annotate.kinds.classification import LabelButtons

if TYPE_CHECKING:
    from annotate.kinds.schema import LabelSchema

LABEL = "label"  # the Label Studio control


class MultilabelValue(Strict):
    labels: list[str]


class MultilabelStudio:
    """``<Choices name="label" choice="multiple">`` over the text (none is an answer)."""

    def build_config(self, view: ET.Element, schema: LabelSchema) -> None:
        ls_text(view)
        ls_choices(view, LABEL, schema.labels, multiple=True, required=False)

    def controls(self, schema: LabelSchema) -> dict[str, str]:
        return {LABEL: "choices"}

    def task_data(self, schema: LabelSchema, data: dict[str, Any],
                  candidates: Sequence[str]) -> dict[str, Any]:
        return {}

    def to_result(self, schema: LabelSchema, value: dict[str, Any], text: str) -> LSResult:
        labels = value["labels"]
        return [ls_item(LABEL, "choices", {"choices": labels})] if labels else []

    def from_result(self, schema: LabelSchema, controls: LSControls, text: str,
                    candidates: Sequence[str], started_from: int | None) -> dict[str, Any]:
        return {"labels": list(dict.fromkeys(ls_chosen(controls.get(LABEL, []))))}


class Multilabel:
    name = "multilabel"
    value_model = MultilabelValue
    instruction = "Choose every label that applies to the item (possibly none)."
    guideline_task = "Choose every label that applies to the text (possibly none)."
    max_tokens = 200
    agreement = "labels"
    labelstudio = MultilabelStudio()
    candidates = None
    widget = LabelButtons(multiple=True)

    def check_schema(self, schema: LabelSchema) -> None:
        if not schema.labels:
            raise ValueError(f"a {self.name} schema needs labels")

    def default_schema(self, labels: list[str]) -> dict[str, Any]:
        return needs_labels(self.name, labels)

    def check_value(self, schema: LabelSchema, value: Any, text: str) -> dict[str, Any]:
        for label in value.labels:
            require_label(schema, label)
        chosen = set(value.labels)
        return {"labels": [label for label in schema.labels if label in chosen]}

    def output_schema(self, schema: LabelSchema) -> dict[str, Any]:
        return {"labels": {"type": "array", "uniqueItems": True, "maxItems": len(schema.labels),
                           "items": {"type": "string", "enum": schema.labels}}}

    def parse_output(self, schema: LabelSchema, data: dict[str, Any], text: str) -> Any:
        return {"labels": data.get("labels")}

    def example_value(self, label: str) -> dict[str, Any] | None:
        return None

    def value_from_label(self, schema: LabelSchema, cell: Any) -> Any:
        """A cell separates its labels with ``|`` (the order of :meth:`label`)."""
        if isinstance(cell, str):
            cell = [part.strip() for part in cell.split("|") if part.strip()]
        return {"labels": cell}

    def label(self, value: dict[str, Any], feature: str | None = None) -> str | None:
        """The labels in a fixed order joined by ``|``; no labels is :data:`NONE`."""
        if "labels" not in value:
            return None
        return "|".join(sorted(map(str, value["labels"] or []))) or NONE

    def comparable(self, value: dict[str, Any]) -> Any:
        return tuple(sorted(value["labels"]))

    def show(self, value: dict[str, Any]) -> str:
        return ", ".join(value.get("labels") or []) or "(no labels)"


KIND = Multilabel()
