"""``choice``: the better of the schema's options for the item, ``{"choice": "response1"}``,
or ``"tie"`` when the schema allows ties. The options' texts are in the item's data
(``data["options"][option]`` or ``data[option]``)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from annotate.errors import InvalidInput
from annotate.kinds.base import (
    TIE,
    LSControls,
    LSResult,
    SetupForm,
    Strict,
    WidgetState,
    ls_choices,
    ls_chosen,
    ls_item,
    ls_sub,
    ls_text,
    option_names,
    shortcut,
    stripped,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from annotate.kinds.schema import LabelSchema

    FloatArray = npt.NDArray[np.float64]

CHOICE = "choice"  # the Label Studio controls
TIE_CONTROL = "tie"


class ChoiceValue(Strict):
    choice: str


def option_field(index: int) -> str:
    """The Label Studio task data field (and Text object name) holding option ``index``."""
    return f"option_{index}"


def uses_pairwise(schema: LabelSchema) -> bool:
    return schema.kind == "choice" and len(schema.options) == 2


class ChoiceStudio:
    """Two options: ``<Pairwise name="choice">`` (left = first option) plus a
    ``<Choices name="tie">`` check box when ties are allowed; more options:
    ``<Choices name="choice">``. The options' texts are the task fields ``option_<i>``."""

    def build_config(self, view: ET.Element, schema: LabelSchema) -> None:
        ls_text(view)
        fields = [option_field(i) for i in range(len(schema.options))]
        for option, field in zip(schema.options, fields, strict=True):
            ls_sub(view, "Header", value=option, size="5")
            ls_sub(view, "Text", name=field, value="$" + field)
        if uses_pairwise(schema):
            ls_sub(view, "Pairwise", name=CHOICE, toName=",".join(fields))
            if schema.allow_tie:
                ls_choices(view, TIE_CONTROL, [TIE], required=False)
        else:
            ls_choices(view, CHOICE, schema.choices())

    def controls(self, schema: LabelSchema) -> dict[str, str]:
        if uses_pairwise(schema):
            return {CHOICE: "pairwise", TIE_CONTROL: "choices"}
        return {CHOICE: "choices"}

    def task_data(self, schema: LabelSchema, data: dict[str, Any],
                  candidates: Sequence[str]) -> dict[str, Any]:
        texts = data.get("options") if isinstance(data.get("options"), dict) else {}
        return {option_field(index): str((texts or {}).get(option, data.get(option, "")))
                for index, option in enumerate(schema.options)}

    def to_result(self, schema: LabelSchema, value: dict[str, Any], text: str) -> LSResult:
        choice = value["choice"]
        if not uses_pairwise(schema):
            return [ls_item(CHOICE, "choices", {"choices": [choice]})]
        if choice == TIE:
            return [ls_item(TIE_CONTROL, "choices", {"choices": [TIE]})]
        side = "left" if choice == schema.options[0] else "right"
        # Label Studio's prediction check wants one object tag of the control as to_name.
        return [ls_item(CHOICE, "pairwise", {"selected": side}, to_name=option_field(0))]

    def from_result(self, schema: LabelSchema, controls: LSControls, text: str,
                    candidates: Sequence[str], started_from: int | None) -> dict[str, Any]:
        if not uses_pairwise(schema):
            chosen = ls_chosen(controls.get(CHOICE, []))
            if len(chosen) != 1:
                raise InvalidInput(f"a choice needs exactly one option, got {len(chosen)}")
            return {"choice": chosen[0]}
        sides = [str(i.get("value", {}).get("selected", "")) for i in controls.get(CHOICE, [])]
        tie = TIE in ls_chosen(controls.get(TIE_CONTROL, []))
        if tie and sides:
            raise InvalidInput("the answer picks a side and a tie at once")
        if tie:
            return {"choice": TIE}
        if len(sides) != 1 or sides[0] not in ("left", "right"):
            raise InvalidInput(f"a pairwise answer needs one side (left or right), got {sides}")
        return {"choice": schema.options[0 if sides[0] == "left" else 1]}


def choice_names(schema: LabelSchema) -> dict[str, str]:
    """Display names of the options of a choice task: A, B, ... and Tie."""
    names = option_names(schema.options)
    if schema.allow_tie:
        names[TIE] = "Tie"
    return names


class ChoiceButtons:
    keys = (("1-9", "choose that option"),)
    """One button per option ("A is better", ...) and a tie button, keys 1-9."""

    def seed(self, form: Any, state: WidgetState, value: dict[str, Any]) -> None:
        state.set("choice", value.get("choice"))

    def value(self, form: Any, state: WidgetState) -> dict[str, Any] | None:
        choice = state.get("choice")
        return {"choice": choice} if choice else None

    def render(self, form: Any, state: WidgetState) -> None:
        import streamlit as st

        chosen = state.get("choice")
        names = choice_names(form.schema)
        with st.container(horizontal=True):
            for i, option in enumerate(form.schema.choices()):
                title = "Tie" if option == TIE else f"{names[option]} is better"
                st.button(title, key=state.key(f"opt:{option}"),
                          type="primary" if option == chosen else "secondary",
                          shortcut=shortcut(form, i), on_click=state.set,
                          args=("choice", option))


def option_text(data: Mapping[str, Any], option: str) -> str | None:
    """The text of ``option`` in an item's data (``data["options"][option]``, else
    ``data[option]``); None when the item has none."""
    texts = data.get("options")
    found = texts.get(option) if isinstance(texts, dict) else None
    found = data.get(option) if found is None else found
    return None if found is None else str(found)


class OptionComparison:
    """A distilled model compares the options: it embeds the item's text (the instruction,
    the context) and each option's text, and a linear layer reads, for the first option A
    against each other option B, ``e(A) - e(B)`` (which is better), ``e(ctx) * (e(A) -
    e(B))`` (their summed terms are cos(ctx, A) - cos(ctx, B): which answers the item more
    closely), ``e(A) * e(B)`` (how alike they are: ties; averaged over the other options)
    and ``e(ctx)``; it predicts one of the schema's choices (the options, and tie when
    allowed)."""

    def texts(self, schema: LabelSchema, text: str, data: Mapping[str, Any]) -> list[str]:
        texts = [option_text(data, option) for option in schema.options]
        missing = [o for o, t in zip(schema.options, texts, strict=True) if t is None]
        if missing:
            raise ValueError(f"the item has no text for option {', '.join(missing)}")
        return [text, *(t or "" for t in texts)]

    def features(self, vectors: FloatArray) -> FloatArray:
        import numpy as np

        context, first, others = vectors[:, 0, :], vectors[:, 1, :], vectors[:, 2:, :]
        differences = first[:, None, :] - others
        n = len(vectors)
        return np.concatenate([differences.reshape(n, -1),
                               (context[:, None, :] * differences).reshape(n, -1),
                               (first[:, None, :] * others).mean(axis=1), context], axis=1)

    def labels(self, schema: LabelSchema) -> list[str]:
        return schema.choices()


class Choice:
    name = "choice"
    value_model = ChoiceValue
    instruction = "Which option is better for the item? Choose one option, or tie."
    guideline_task = "Choose the better of the options, or a tie when neither is better."
    max_tokens = 200
    agreement = "labels"
    labelstudio = ChoiceStudio()
    candidates = None
    widget = ChoiceButtons()
    setup_form = SetupForm(labels="Options (the item's fields)", tie=True)
    distillable = True  # a small classifier compares the options' embeddings
    distill_inputs = OptionComparison()

    def check_schema(self, schema: LabelSchema) -> None:
        if len(schema.options) < 2:
            raise ValueError("a choice schema needs at least two options")
        if schema.allow_tie and TIE in schema.options:
            raise ValueError(f"option {TIE!r} is reserved for ties (or set allow_tie: false)")

    def default_schema(self, labels: list[str]) -> dict[str, Any]:
        return {"kind": self.name, "options": labels or ["response1", "response2"]}

    def schema_from_setup(self, names: list[str], scale: list[str],
                          allow_tie: bool) -> dict[str, Any]:
        return {**self.default_schema(names), "allow_tie": allow_tie}

    def option_fields(self, schema: LabelSchema) -> list[str]:
        """The options are fields of the item (``data["options"][option]`` or
        ``data[option]``): the texts compared."""
        return list(schema.options)

    def check_value(self, schema: LabelSchema, value: Any, text: str) -> dict[str, Any]:
        if value.choice not in schema.choices():
            raise InvalidInput(f"choice {value.choice!r} is not one of "
                               f"{', '.join(schema.choices())}")
        return {"choice": value.choice}

    def output_schema(self, schema: LabelSchema) -> dict[str, Any]:
        return {"choice": {"type": "string", "enum": schema.choices()}}

    def parse_output(self, schema: LabelSchema, data: dict[str, Any], text: str) -> Any:
        return {"choice": data.get("choice")}

    def example_value(self, label: str) -> dict[str, Any] | None:
        return None

    def value_from_label(self, schema: LabelSchema, cell: Any) -> Any:
        return {"choice": stripped(cell)}

    def label(self, value: dict[str, Any], feature: str | None = None) -> str | None:
        return None if value.get("choice") is None else str(value["choice"])

    def comparable(self, value: dict[str, Any]) -> Any:
        return value["choice"]

    def show(self, value: dict[str, Any]) -> str:
        return str(value.get("choice"))


KIND = Choice()
