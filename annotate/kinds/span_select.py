"""The spans answer widget: select a stretch of the text with the mouse, as in the peers.

A Streamlit components v2 component whose JavaScript and CSS ship in this package
(``assets/span_select.js`` and ``.css``, read when the widget is first drawn; nothing is
fetched at run time). The text is drawn once with every span in it; dragging over it marks
a span with the active label (snapped to word edges, Alt-drag for part of a word); keys 1-9
or a click choose the label; a click on a span focuses it to relabel or remove; nested spans
only where the schema allows them (otherwise a new span replaces those it overlaps). LLM
spans come in as suggestions, drawn dashed, to accept or fix one by one.

The component sends the spans (code-point offsets) back on every change; a callback copies
them into the task's session state, which is what :meth:`SpanSelect.value` reads. Python
hands spans to the browser with a revision number: the browser keeps its own copy until
Python seeds a new one (accept all, undo, reveal).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

from annotate.kinds.base import WidgetState

COMPONENT = "annotate.span_select"


@cache
def _assets() -> tuple[str, str]:
    folder = files("annotate.kinds") / "assets"
    return ((folder / "span_select.js").read_text(encoding="utf-8"),
            (folder / "span_select.css").read_text(encoding="utf-8"))


@cache
def _component() -> Any:
    import streamlit as st

    js, css = _assets()
    return st.components.v2.component(COMPONENT, js=js, css=css, isolate_styles=False)


def clean_spans(text: str, spans: Any, labels: list[str]) -> list[dict[str, Any]]:
    """Spans from the browser (or a seed) as the kind stores them: inside the text, with a
    known label, deduplicated, in text order, each quoting its text."""
    out: dict[tuple[int, int, str], dict[str, Any]] = {}
    for span in spans if isinstance(spans, list) else []:
        try:
            start, end, label = int(span["start"]), int(span["end"]), str(span["label"])
        except (KeyError, TypeError, ValueError):
            continue
        if label in labels and 0 <= start < end <= len(text):
            out[(start, end, label)] = {"start": start, "end": end, "label": label,
                                        "text": text[start:end]}
    return [out[k] for k in sorted(out)]


def _bump(state: WidgetState) -> None:
    state.set("rev", int(state.get("rev", 0) or 0) + 1)


class SpanSelect:
    """Spans by selecting text (see the module docstring)."""

    draws_text = True  # the page shows the item's text only here
    keys = (("drag", "mark a span with the active label (snaps to words)"),
            ("Alt + drag", "mark part of a word"), ("1-9", "active label; relabels a focused span"),
            ("click", "focus a span or suggestion (again: the span around it)"),
            ("Delete", "remove the focused span, reject a suggestion"),
            ("Esc", "unfocus"))

    def seed(self, form: Any, state: WidgetState, value: dict[str, Any]) -> None:
        state.set("spans", clean_spans(form.text, value.get("spans"), form.schema.labels))
        state.set("suggested", [])
        _bump(state)

    def suggest(self, form: Any, state: WidgetState, value: dict[str, Any]) -> None:
        """Show a value's spans as suggestions, none of them accepted yet."""
        state.set("spans", [])
        state.set("suggested", clean_spans(form.text, value.get("spans"), form.schema.labels))
        _bump(state)

    def value(self, form: Any, state: WidgetState) -> dict[str, Any] | None:
        return {"spans": clean_spans(form.text, state.get("spans", []), form.schema.labels)}

    def render(self, form: Any, state: WidgetState) -> None:
        import streamlit as st

        key = state.key("select")

        def copy_back() -> None:
            result: Any = st.session_state.get(key)
            spans = result.get("spans") if isinstance(result, dict) else None
            state.set("spans", clean_spans(form.text, spans, form.schema.labels))

        spans = self.value(form, state) or {"spans": []}
        data = {"text": form.text, "labels": list(form.schema.labels),
                "nested": bool(form.schema.allow_nested), "keys": bool(form.shortcuts),
                "rev": int(state.get("rev", 0) or 0),
                "spans": [_plain(s) for s in spans["spans"]],
                "suggestions": [_plain(s) for s in state.get("suggested", []) or []]}
        _component()(key=key, data=data, on_spans_change=copy_back)


def _plain(span: dict[str, Any]) -> dict[str, Any]:
    return {"start": span["start"], "end": span["end"], "label": span["label"]}
