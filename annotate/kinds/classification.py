"""``classification``: one label per item, ``{"label": "pos"}``."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from annotate.errors import InvalidInput
from annotate.kinds.base import (
    PERCENT,
    LSControls,
    LSResult,
    Strict,
    WidgetState,
    ls_choices,
    ls_chosen,
    ls_item,
    ls_text,
    needs_labels,
    require_label,
    shortcut,
    stripped,
)

if TYPE_CHECKING:
    from annotate.kinds.schema import LabelSchema

LABEL = "label"  # the Label Studio control


class ClassificationValue(Strict):
    label: str


class ClassificationStudio:
    """``<Choices name="label" choice="single">`` over the text."""

    def build_config(self, view: ET.Element, schema: LabelSchema) -> None:
        ls_text(view)
        ls_choices(view, LABEL, schema.labels)

    def controls(self, schema: LabelSchema) -> dict[str, str]:
        return {LABEL: "choices"}

    def task_data(self, schema: LabelSchema, data: dict[str, Any],
                  candidates: Sequence[str]) -> dict[str, Any]:
        return {}

    def to_result(self, schema: LabelSchema, value: dict[str, Any], text: str) -> LSResult:
        return [ls_item(LABEL, "choices", {"choices": [value["label"]]})]

    def from_result(self, schema: LabelSchema, controls: LSControls, text: str,
                    candidates: Sequence[str], started_from: int | None) -> dict[str, Any]:
        chosen = ls_chosen(controls.get(LABEL, []))
        if len(chosen) != 1:
            raise InvalidInput(f"a classification needs exactly one label, got {len(chosen)}")
        return {"label": chosen[0]}


class ClassificationRanking:
    """The Helper ranks the labels that could fit, most likely first, each with a score."""

    def instruction(self, n: int) -> str:
        return "Rank the labels that could fit the item, most likely first, each with a score."

    def output_schema(self, schema: LabelSchema, n: int) -> dict[str, Any]:
        item = {"type": "object", "additionalProperties": False, "required": ["label", "score"],
                "properties": {"label": {"type": "string", "enum": schema.labels},
                               "score": PERCENT}}
        k = min(n, len(schema.labels))
        return {"ranking": {"type": "array", "minItems": 1, "maxItems": k, "items": item}}

    def max_tokens(self, n: int) -> int:
        return 300

    def parse(self, schema: LabelSchema, data: dict[str, Any]) -> list[dict[str, Any]]:
        seen: set[str] = set()
        ranked = []
        for entry in data.get("ranking", []):
            label = entry.get("label")
            if label in seen:
                continue
            seen.add(label)
            ranked.append({"value": {"label": label}, "score": entry.get("score")})
        return ranked


class LabelButtons:
    keys = (("1-9", "choose that label (toggle it, for several labels)"),)
    """One button per label, keys 1-9; ``multiple``: each button toggles its label."""

    def __init__(self, multiple: bool = False) -> None:
        self.multiple = multiple

    def seed(self, form: Any, state: WidgetState, value: dict[str, Any]) -> None:
        if self.multiple:
            state.set("labels", list(value.get("labels") or []))
        else:
            state.set("label", value.get("label"))

    def value(self, form: Any, state: WidgetState) -> dict[str, Any] | None:
        if self.multiple:
            return {"labels": list(state.get("labels", []))}
        label = state.get("label")
        return {"label": label} if label else None

    def render(self, form: Any, state: WidgetState) -> None:
        import streamlit as st

        chosen = state.get("labels", []) if self.multiple else [state.get("label")]
        with st.container(horizontal=True):
            for i, label in enumerate(form.schema.labels):
                st.button(label, key=state.key(f"btn:{label}"),
                          type="primary" if label in chosen else "secondary",
                          shortcut=shortcut(form, i),
                          on_click=_toggle if self.multiple else state.set,
                          args=(state, label) if self.multiple else ("label", label))
        if self.multiple:
            st.caption("Choose every label that applies (press a number to toggle).")


def _toggle(state: WidgetState, label: str) -> None:
    chosen = list(state.get("labels", []))
    state.set("labels", [x for x in chosen if x != label] if label in chosen else [*chosen, label])


class Classification:
    name = "classification"
    value_model = ClassificationValue
    instruction = "Choose the one label that fits the item best."
    guideline_task = "Choose the one label that fits the text best."
    max_tokens = 200
    agreement = "labels"
    candidates = ClassificationRanking()
    labelstudio = ClassificationStudio()
    widget = LabelButtons()
    distillable = True  # a small classifier on embeddings predicts one label per text

    def check_schema(self, schema: LabelSchema) -> None:
        if not schema.labels:
            raise ValueError(f"a {self.name} schema needs labels")

    def default_schema(self, labels: list[str]) -> dict[str, Any]:
        return needs_labels(self.name, labels)

    def check_value(self, schema: LabelSchema, value: Any, text: str) -> dict[str, Any]:
        require_label(schema, value.label)
        return {"label": value.label}

    def output_schema(self, schema: LabelSchema) -> dict[str, Any]:
        return {"label": {"type": "string", "enum": schema.labels}}

    def parse_output(self, schema: LabelSchema, data: dict[str, Any], text: str) -> Any:
        return {"label": data.get("label")}

    def example_value(self, label: str) -> dict[str, Any] | None:
        return {"label": label}

    def value_from_label(self, schema: LabelSchema, cell: Any) -> Any:
        return {"label": stripped(cell)}

    def label(self, value: dict[str, Any], feature: str | None = None) -> str | None:
        return None if value.get("label") is None else str(value["label"])

    def comparable(self, value: dict[str, Any]) -> Any:
        return value["label"]

    def show(self, value: dict[str, Any]) -> str:
        return str(value.get("label"))


KIND = Classification()
