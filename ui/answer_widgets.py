"""Answer inputs for every task kind (Streamlit's own widgets; spans: a bundled component).

Each kind draws its own input (its ``widget`` part, :class:`annotate.kinds.base.AnswerWidget`;
the built-in ones are described in the kind modules); this module gives it the task's form
and a place in session state. A kind without a widget is answered as JSON.

The answer lives in session state under keys of one task (``form.prefix``), so a new task
starts clean; :func:`seed` fills the inputs from a value (pre-label, accept, reveal, undo).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from annotate.kinds.base import AnswerWidget, WidgetState
from annotate.kinds.choice import choice_names
from annotate.kinds.registry import get_kind
from annotate.kinds.schema import LabelSchema
from annotate.kinds.text import OWN
from annotate.services.workspace import Candidate
from ui import state

__all__ = ["OWN", "AnswerForm", "choice_names", "draws_text", "keys", "render", "seed", "suggest",
           "suggests", "value"]


@dataclass(frozen=True)
class AnswerForm:
    prefix: str
    kind: str
    schema: LabelSchema
    text: str
    data: dict[str, Any] = field(default_factory=dict)
    candidates: tuple[Candidate, ...] = ()
    shortcuts: bool = True


@dataclass(frozen=True)
class TaskState:
    """The widget keys of one task in session state (:mod:`ui.state`)."""

    prefix: str

    def get(self, name: str, default: Any = None) -> Any:
        return state.get_widget(self.prefix, name, default)

    def set(self, name: str, value: Any) -> None:
        state.set_widget(self.prefix, name, value)

    def key(self, name: str) -> str:
        return state.widget_key(self.prefix, name)


class JsonAnswer:
    """The input of a kind that brings no widget: its value as JSON."""

    def seed(self, form: AnswerForm, task: WidgetState, value: dict[str, Any]) -> None:
        task.set("json", json.dumps(value, ensure_ascii=False))

    def value(self, form: AnswerForm, task: WidgetState) -> dict[str, Any] | None:
        try:
            parsed = json.loads(str(task.get("json", "") or ""))
        except json.JSONDecodeError:
            return None
        return parsed if isinstance(parsed, dict) else None

    def render(self, form: AnswerForm, task: WidgetState) -> None:
        st.text_area(f"Answer ({form.kind}, as JSON)", key=task.key("json"))


def _widget(form: AnswerForm) -> AnswerWidget:
    return get_kind(form.kind).widget or JsonAnswer()


def seed(form: AnswerForm, value: dict[str, Any] | None) -> None:
    """Fill the inputs from a value (call before the widgets are drawn, or in a callback)."""
    if value:
        _widget(form).seed(form, TaskState(form.prefix), value)


def suggests(form: AnswerForm) -> bool:
    """Whether the kind's input can show an LLM answer as suggestions to accept one by one
    (a widget with a ``suggest`` method), rather than pre-filling it."""
    return callable(getattr(_widget(form), "suggest", None))


def draws_text(form: AnswerForm) -> bool:
    """Whether the kind's input draws the item's text itself (then the page does not)."""
    return bool(getattr(_widget(form), "draws_text", False))


def keys(form: AnswerForm) -> tuple[tuple[str, str], ...]:
    """The keys of the kind's input (its ``keys``: pairs of key and what it does)."""
    return tuple(getattr(_widget(form), "keys", ()) or ())


def suggest(form: AnswerForm, value: dict[str, Any] | None) -> None:
    """Show a value as suggestions (see :func:`suggests`)."""
    if value:
        _widget(form).suggest(form, TaskState(form.prefix), value)  # type: ignore[attr-defined]


def value(form: AnswerForm) -> dict[str, Any] | None:
    """The answer as the inputs hold it, or None while it is incomplete."""
    return _widget(form).value(form, TaskState(form.prefix))


def render(form: AnswerForm) -> None:
    _widget(form).render(form, TaskState(form.prefix))
