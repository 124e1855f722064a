"""Answer inputs for every task kind, built from Streamlit's own widgets (no custom JS):

- classification / multilabel: one button per label, keys 1-9;
- choice (A/B/tie): one button per option and a tie button, keys 1-9;
- rating: a segmented control per feature, on that feature's scale;
- spans: per label, the item's tokens as pills; adjacent selected tokens become one span;
- text: the Helper's candidates as buttons (keys 1-9) to choose and then edit, or
  "none fits — write my own" (key N). There is no blank text box to start from.

The answer lives in session state under keys of one task (``form.prefix``), so a new task
starts clean; :func:`seed` fills the inputs from a value (pre-label, accept, reveal, undo).
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from annotate.kinds.schema import TIE, LabelSchema
from annotate.services.workspace import Candidate
from ui import state
from ui.answers import (
    highlighted,
    plain_markdown,
    spans_from_tokens,
    tokenize,
    tokens_of_spans,
)

OWN = -1


@dataclass(frozen=True)
class AnswerForm:
    prefix: str
    kind: str
    schema: LabelSchema
    text: str
    data: dict[str, Any] = field(default_factory=dict)
    candidates: tuple[Candidate, ...] = ()
    shortcuts: bool = True


def _key(form: AnswerForm, i: int) -> str | None:
    return str(i + 1) if form.shortcuts and i < 9 else None


def choice_names(schema: LabelSchema) -> dict[str, str]:
    """Display names of the options of a choice task: A, B, ... and Tie."""
    names = {o: string.ascii_uppercase[i] for i, o in enumerate(schema.options)}
    if schema.allow_tie:
        names[TIE] = "Tie"
    return names


# -- seeding from a value -------------------------------------------------------------------


def seed(form: AnswerForm, value: dict[str, Any] | None) -> None:
    """Fill the inputs from a value (call before the widgets are drawn, or in a callback)."""
    if not value:
        return
    p = form.prefix
    if form.kind == "classification":
        state.set_widget(p, "label", value.get("label"))
    elif form.kind == "multilabel":
        state.set_widget(p, "labels", list(value.get("labels") or []))
    elif form.kind == "choice":
        state.set_widget(p, "choice", value.get("choice"))
    elif form.kind == "rating":
        for name, point in (value.get("ratings") or {}).items():
            state.set_widget(p, f"r:{name}", _on_scale(form.schema, name, point))
    elif form.kind == "spans":
        covered = tokens_of_spans(tokenize(form.text), list(value.get("spans") or []))
        for label in form.schema.labels:
            state.set_widget(p, f"spans:{label}", covered.get(label, []))
            state.set_widget(p, f"pills:{label}", covered.get(label, []))
    elif form.kind == "text":
        cand = value.get("candidate")
        state.set_widget(p, "cand", cand if isinstance(cand, int) else OWN)
        state.set_widget(p, "text", str(value.get("text", "")))


def _on_scale(schema: LabelSchema, name: str, point: Any) -> Any:
    feature = next((f for f in schema.features if f.name == name), None)
    if feature is None:
        return point
    return next((s for s in feature.scale if str(s) == str(point)), point)


# -- reading the value ----------------------------------------------------------------------


def value(form: AnswerForm) -> dict[str, Any] | None:
    """The answer as the inputs hold it, or None while it is incomplete."""
    p = form.prefix
    if form.kind == "classification":
        label = state.get_widget(p, "label")
        return {"label": label} if label else None
    if form.kind == "multilabel":
        return {"labels": list(state.get_widget(p, "labels", []))}
    if form.kind == "choice":
        choice = state.get_widget(p, "choice")
        return {"choice": choice} if choice else None
    if form.kind == "rating":
        ratings = {f.name: state.get_widget(p, f"r:{f.name}") for f in form.schema.features}
        return {"ratings": ratings} if all(v is not None for v in ratings.values()) else None
    if form.kind == "spans":
        selected = {label: list(state.get_widget(p, f"spans:{label}", []))
                    for label in form.schema.labels}
        return {"spans": spans_from_tokens(form.text, tokenize(form.text), selected)}
    return _text_value(form)


def _text_value(form: AnswerForm) -> dict[str, Any] | None:
    cand = state.get_widget(form.prefix, "cand")
    text = str(state.get_widget(form.prefix, "text", "") or "").strip()
    if cand is None or not text:
        return None
    if cand == OWN:
        return {"text": text, "edited": False}
    original = (form.candidates[cand].text or "").strip() if cand < len(form.candidates) else ""
    return {"text": text, "candidate": cand, "edited": text != original}


# -- drawing the inputs ---------------------------------------------------------------------


def render(form: AnswerForm) -> None:
    {"classification": _labels, "multilabel": _labels, "choice": _choice, "rating": _rating,
     "spans": _spans, "text": _text}[form.kind](form)


def _set(prefix: str, name: str, new: Any) -> None:
    state.set_widget(prefix, name, new)


def _toggle(prefix: str, label: str) -> None:
    chosen = list(state.get_widget(prefix, "labels", []))
    state.set_widget(prefix, "labels",
                     [x for x in chosen if x != label] if label in chosen else [*chosen, label])


def _labels(form: AnswerForm) -> None:
    multi = form.kind == "multilabel"
    chosen = (state.get_widget(form.prefix, "labels", []) if multi
              else [state.get_widget(form.prefix, "label")])
    with st.container(horizontal=True):
        for i, label in enumerate(form.schema.labels):
            st.button(label, key=state.widget_key(form.prefix, f"btn:{label}"),
                      type="primary" if label in chosen else "secondary",
                      shortcut=_key(form, i),
                      on_click=_toggle if multi else _set,
                      args=(form.prefix, label) if multi else (form.prefix, "label", label))
    if multi:
        st.caption("Choose every label that applies (press a number to toggle).")


def _choice(form: AnswerForm) -> None:
    chosen = state.get_widget(form.prefix, "choice")
    names = choice_names(form.schema)
    with st.container(horizontal=True):
        for i, option in enumerate(form.schema.choices()):
            title = "Tie" if option == TIE else f"{names[option]} is better"
            st.button(title, key=state.widget_key(form.prefix, f"opt:{option}"),
                      type="primary" if option == chosen else "secondary",
                      shortcut=_key(form, i), on_click=_set,
                      args=(form.prefix, "choice", option))


def _rating(form: AnswerForm) -> None:
    for feature in form.schema.features:
        st.segmented_control(feature.name, feature.scale, help=feature.description or None,
                             key=state.widget_key(form.prefix, f"r:{feature.name}"))


def _copy_pills(prefix: str, label: str) -> None:
    state.set_widget(prefix, f"spans:{label}", list(state.get_widget(prefix,
                                                                     f"pills:{label}", [])))


def _spans(form: AnswerForm) -> None:
    tokens = tokenize(form.text)
    labels = form.schema.labels
    active = st.segmented_control("Label to mark", labels, default=labels[0], required=True,
                                  key=state.widget_key(form.prefix, "active"))
    active = active or labels[0]
    pills_name = f"pills:{active}"
    if state.get_widget(form.prefix, pills_name) is None:  # restore from the mirror
        state.set_widget(form.prefix, pills_name,
                         list(state.get_widget(form.prefix, f"spans:{active}", [])))
    st.pills(f"Tokens that are {active} (adjacent tokens make one span)",
             list(range(len(tokens))), selection_mode="multi",
             format_func=lambda i: tokens[i].text,
             key=state.widget_key(form.prefix, pills_name),
             on_change=_copy_pills, args=(form.prefix, active))
    current = value(form) or {"spans": []}
    st.markdown(highlighted(form.text, current["spans"], labels) if current["spans"]
                else "_No spans marked yet._")


def _text(form: AnswerForm) -> None:
    cand = state.get_widget(form.prefix, "cand")
    for i, c in enumerate(form.candidates):
        score = f"  ·  score {c.score:.2f}" if c.score is not None else ""
        st.button(f"{plain_markdown(c.text or '')}{score}",
                  key=state.widget_key(form.prefix, f"cand:{i}"),
                  type="primary" if cand == i else "secondary", shortcut=_key(form, i),
                  on_click=_pick, args=(form, i), width="stretch")
    st.button("None fits — write my own", key=state.widget_key(form.prefix, "own"),
              type="primary" if cand == OWN else "tertiary",
              shortcut="N" if form.shortcuts else None, on_click=_pick, args=(form, OWN))
    if cand is not None:
        st.text_area("Edit the chosen text" if cand != OWN else "Your own text",
                     key=state.widget_key(form.prefix, "text"),
                     max_chars=form.schema.max_text_length)


def _pick(form: AnswerForm, index: int) -> None:
    state.set_widget(form.prefix, "cand", index)
    text = "" if index == OWN else (form.candidates[index].text or "")
    state.set_widget(form.prefix, "text", text)
