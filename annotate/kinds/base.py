"""What a task kind is: one object that owns everything kind-specific.

A kind (``classification``, ``spans``, ...) says what an answer looks like and how every
part of the platform treats it: validation against the project's schema, the instruction
the LLM roles get and the JSON they answer in, the one label projection agreement,
dashboards, export, review and the moderator use, and (optionally) its Label Studio
mapping and its answer widget. The rest of the platform asks the kind; it never names one.

A new kind is one module with one class and an entry point in the ``annotate.kinds`` group
(see :mod:`annotate.kinds.registry`), not an edit to tables spread over the code base.
"""

from __future__ import annotations

import json
import re
import string
import xml.etree.ElementTree as ET
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict

from annotate.errors import InvalidInput

if TYPE_CHECKING:
    from annotate.kinds.schema import LabelSchema

TIE = "tie"
PERCENT = {"type": "integer", "minimum": 0, "maximum": 100}
"""A 0-100 score in a model's answer (llama.cpp grammars enforce integer ranges)."""
NONE = "(none)"
"""The label of an empty answer (no labels, no spans), the same in every frame."""

LSResult = list[dict[str, Any]]
LSControls = dict[str, list[dict[str, Any]]]
"""Label Studio result items grouped by control name (``from_name``)."""


class Strict(BaseModel):
    """The base of every value model: unknown keys are an error."""

    model_config = ConfigDict(extra="forbid")


class TaskKind(Protocol):
    """One kind of annotation task: what every kind has. The members a kind may leave out
    (reading a CSV label cell, option fields, the new-project form, policy defaults, ...) are
    listed, with their defaults, in :mod:`annotate.kinds.optional`."""

    @property
    def name(self) -> str: ...

    @property
    def value_model(self) -> type[BaseModel]:
        """The pydantic model of a value's shape (unknown keys refused)."""

    @property
    def instruction(self) -> str:
        """What an LLM annotator is asked to do (the last line of its prompt; the helper's
        too, for kinds the helper has no candidates task for)."""

    @property
    def guideline_task(self) -> str:
        """The "Task" section of a new project's guideline, for people."""

    @property
    def max_tokens(self) -> int:
        """The answer budget of one annotator call."""

    @property
    def agreement(self) -> str | None:
        """How the agreement report compares answers: ``"labels"`` (nominal agreement on
        :meth:`label`), ``"spans"`` (span matching), ``"ratings"`` (ordinal, per feature),
        or None when it has no measure for the kind."""

    @property
    def candidates(self) -> CandidatesForm | None:
        """How the Helper offers several candidates to choose from, if the kind has a way;
        without one the Helper proposes one answer as the annotator would."""

    @property
    def labelstudio(self) -> LabelStudioForm | None:
        """The Label Studio mapping, if the kind has one."""

    @property
    def widget(self) -> AnswerWidget | None:
        """The workspace's answer input, if the kind has one."""

    def check_schema(self, schema: LabelSchema) -> None:
        """Raise ValueError when the schema misses what this kind needs."""

    def default_schema(self, labels: list[str]) -> dict[str, Any]:
        """A schema (as JSON) from ``--labels`` alone; InvalidInput when that is not enough."""

    def check_value(self, schema: LabelSchema, value: Any, text: str) -> dict[str, Any]:
        """A parsed :attr:`value_model` checked against the schema and item text, normalised."""

    def output_schema(self, schema: LabelSchema) -> dict[str, Any]:
        """The decision properties of the JSON schema an LLM annotator answers in."""

    def parse_output(self, schema: LabelSchema, data: dict[str, Any], text: str) -> Any:
        """The model's JSON answer as a raw value of this kind (validated afterwards)."""

    def example_value(self, label: str) -> dict[str, Any] | None:
        """A guideline example's label as an answer of this kind (the annotator's few-shot
        examples); None when the kind takes no examples."""

    def label(self, value: dict[str, Any], feature: str | None = None) -> str | None:
        """The one comparable label string of a valid value (per ``feature`` for kinds that
        have features); None when the value has no label (for that feature)."""

    def comparable(self, value: dict[str, Any]) -> Hashable:
        """A hashable form: two answers agree when their forms are equal."""

    def show(self, value: dict[str, Any]) -> str:
        """A one-line, human-readable form (review tables, the moderator's prompt)."""


class CandidatesForm(Protocol):
    """The Helper's task for a kind: several candidates for a person to choose from."""

    def instruction(self, n: int) -> str: ...

    def output_schema(self, schema: LabelSchema, n: int) -> dict[str, Any]:
        """The properties of the JSON object the Helper answers in."""

    def max_tokens(self, n: int) -> int: ...

    def parse(self, schema: LabelSchema, data: dict[str, Any]) -> list[dict[str, Any]]:
        """Candidates as ``{"value": raw value, "text"?: shown text, "score": 0-100 or
        None}``, best first; each value is validated afterwards."""


class LabelStudioForm(Protocol):
    """A kind's Label Studio mapping: pure data (XML elements, result dicts), no SDK."""

    def build_config(self, view: ET.Element, schema: LabelSchema) -> None:
        """Add the kind's objects and controls to the ``<View>``."""

    def controls(self, schema: LabelSchema) -> dict[str, str]:
        """Control name -> the result type it produces."""

    def task_data(self, schema: LabelSchema, data: dict[str, Any],
                  candidates: Sequence[str]) -> dict[str, Any]:
        """Task data fields beyond the text and ids that the config reads."""

    def to_result(self, schema: LabelSchema, value: dict[str, Any], text: str) -> LSResult:
        """Result items for a valid value."""

    def from_result(self, schema: LabelSchema, controls: LSControls, text: str,
                    candidates: Sequence[str], started_from: int | None) -> dict[str, Any]:
        """A raw value from result items (validated afterwards)."""


class WidgetState(Protocol):
    """Where a widget keeps its inputs: the UI's session state under one task's keys."""

    def get(self, name: str, default: Any = None) -> Any: ...

    def set(self, name: str, value: Any) -> None: ...

    def key(self, name: str) -> str: ...


class AnswerWidget(Protocol):
    """A kind's answer input in the Streamlit workspace (Streamlit imported lazily)."""

    def seed(self, form: Any, state: WidgetState, value: dict[str, Any]) -> None:
        """Fill the inputs from a value."""

    def value(self, form: Any, state: WidgetState) -> dict[str, Any] | None:
        """The answer the inputs hold, or None while it is incomplete."""

    def render(self, form: Any, state: WidgetState) -> None:
        """Draw the inputs."""


@dataclass(frozen=True)
class SetupForm:
    """What the new-project form asks for a kind, beyond its name, budget and guideline (the
    optional ``setup_form`` member of a kind; see :mod:`annotate.kinds.optional`)."""

    labels: str = "Labels"
    """The caption of the comma-separated names field (labels, features, options)."""
    scale: bool = False
    """Whether it asks a rating scale."""
    tie: bool = False
    """Whether it asks if a tie is allowed."""


# -- helpers the built-in kinds share -------------------------------------------------------


def require_label(schema: LabelSchema, label: str) -> None:
    if label not in schema.labels:
        raise InvalidInput(f"label {label!r} is not in the schema ({', '.join(schema.labels)})")


def needs_labels(kind: str, labels: list[str]) -> dict[str, Any]:
    """The default schema of a kind whose schema is its labels."""
    if not labels:
        raise InvalidInput(f"a {kind} project needs labels: --labels a,b,c or --schema FILE")
    return {"kind": kind, "labels": labels}


def plain_label(key: str) -> Callable[[dict[str, Any]], str | None]:
    def label(value: dict[str, Any]) -> str | None:
        return None if value.get(key) is None else str(value[key])
    return label


def option_names(options: Sequence[str]) -> dict[str, str]:
    """Short display names of options, in order: A, B, C, ..."""
    return {option: string.ascii_uppercase[i] for i, option in enumerate(options)}


def stripped(cell: Any) -> Any:
    """A label cell without surrounding white space (a non-string JSON label as it is)."""
    return cell.strip() if isinstance(cell, str) else cell


def json_cell(cell: Any) -> Any:
    """A label cell that holds JSON, parsed (a JSON label already parsed as it is)."""
    if not isinstance(cell, str):
        return cell
    try:
        return json.loads(cell)
    except RecursionError:
        raise ValueError("label is nested too deeply") from None
    except ValueError as exc:
        raise ValueError(f"label is not valid JSON: {exc}") from None


def normalised_text(text: Any) -> str:
    """Text compared the way people read it: case and runs of white space ignored."""
    return " ".join(str(text).split()).lower()


def ls_item(from_name: str, kind: str, value: dict[str, Any], to_name: str = "text"
            ) -> dict[str, Any]:
    """One Label Studio result item."""
    return {"from_name": from_name, "to_name": to_name, "type": kind, "value": value}


def ls_chosen(items: list[dict[str, Any]]) -> list[str]:
    """Every choice in ``choices`` result items, in order."""
    return [str(c) for item in items for c in item.get("value", {}).get("choices", [])]


def ls_sub(parent: ET.Element, tag: str, **attrs: str) -> ET.Element:
    return ET.SubElement(parent, tag, attrs)


def ls_text(view: ET.Element) -> None:
    """The item's ``<Text name="text">``."""
    ls_sub(view, "Text", name="text", value="$text")


def ls_choices(view: ET.Element, name: str, values: list[str], *, multiple: bool = False,
               required: bool = True) -> None:
    attrs = {"name": name, "toName": "text", "choice": "multiple" if multiple else "single"}
    if required:
        attrs["required"] = "true"
    choices = ls_sub(view, "Choices", **attrs)
    for value in values:
        ls_sub(choices, "Choice", value=value)


# -- helpers of the built-in answer widgets (pure; Streamlit is imported where drawn) -------

_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def plain_markdown(text: str) -> str:
    """Text (an item, a model's rationale or candidate) as Markdown that shows it literally:
    every ASCII punctuation mark is escaped, so it can draw no heading, box, link, image
    (nothing is fetched), colour, icon or formula."""
    return _PUNCTUATION.sub(r"\\\1", text)


def shortcut(form: Any, index: int) -> str | None:
    """The keyboard shortcut of the ``index``-th button of a form: 1-9, when enabled."""
    return str(index + 1) if form.shortcuts and index < 9 else None
