"""``text``: a written answer, ``{"text": "...", "candidate": 2, "edited": true}``: which of
the Helper's candidates it started from (if any) and whether the person edited it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from annotate.errors import InvalidInput
from annotate.kinds.base import (
    LSControls,
    LSResult,
    Strict,
    WidgetState,
    ls_item,
    ls_sub,
    ls_text,
    normalised_text,
    plain_markdown,
    shortcut,
)

if TYPE_CHECKING:
    from annotate.kinds.schema import LabelSchema

ANSWER = "answer"  # the Label Studio control
CANDIDATES = "candidates"


class TextValue(Strict):
    text: str = Field(min_length=1)
    candidate: int | None = None
    edited: bool = False


class TextStudio:
    """The Helper's candidates listed in ``<Text name="candidates">`` and a
    ``<TextArea name="answer">`` Label Studio pre-fills from the pushed candidate predictions."""

    def build_config(self, view: ET.Element, schema: LabelSchema) -> None:
        ls_text(view)
        ls_sub(view, "Header", value="Candidates", size="5")
        ls_sub(view, "Text", name=CANDIDATES, value="$" + CANDIDATES)
        ls_sub(view, "TextArea", name=ANSWER, toName="text", rows="4", editable="true",
               maxSubmissions="1", required="true")

    def controls(self, schema: LabelSchema) -> dict[str, str]:
        return {ANSWER: "textarea"}

    def task_data(self, schema: LabelSchema, data: dict[str, Any],
                  candidates: Sequence[str]) -> dict[str, Any]:
        listed = "\n\n".join(f"{i + 1}. {c}" for i, c in enumerate(candidates)) or "-"
        return {"candidate_texts": list(candidates), CANDIDATES: listed}

    def to_result(self, schema: LabelSchema, value: dict[str, Any], text: str) -> LSResult:
        return [ls_item(ANSWER, "textarea", {"text": [value["text"]]})]

    def candidate_value(self, text: str) -> dict[str, Any]:
        """Each Helper candidate is pushed as a prediction the answer box starts from."""
        return {"text": text}

    def from_result(self, schema: LabelSchema, controls: LSControls, text: str,
                    candidates: Sequence[str], started_from: int | None) -> dict[str, Any]:
        texts = [str(t) for item in controls.get(ANSWER, [])
                 for t in item.get("value", {}).get("text", [])]
        answer = "\n".join(t for t in texts if t.strip())
        if not answer:
            raise InvalidInput("the text answer is empty")
        if answer in candidates:
            return {"text": answer, "candidate": list(candidates).index(answer),
                    "edited": False}
        if started_from is not None:
            return {"text": answer, "candidate": started_from, "edited": True}
        return {"text": answer, "edited": False}


class TextCandidates:
    """The Helper writes ``n`` different candidate answers for a person to choose from."""

    def instruction(self, n: int) -> str:
        if n == 1:
            return "Write one candidate answer for a person to choose from, in your own words."
        return (f"Write {n} candidate answers for a person to choose from, each worded "
                "differently from the item and from the others.")

    def output_schema(self, schema: LabelSchema, n: int) -> dict[str, Any]:
        item = {"type": "object", "additionalProperties": False, "required": ["text"],
                "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 400}}}
        return {"candidates": {"type": "array", "minItems": n, "maxItems": n, "items": item}}

    def max_tokens(self, n: int) -> int:
        return 180 * n

    def parse(self, schema: LabelSchema, data: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"value": {"text": cand["text"], "candidate": i}, "text": cand["text"],
                 "score": None} for i, cand in enumerate(data.get("candidates", []))]


OWN = -1  # the "write my own" choice of the text widget


class CandidateButtons:
    """The Helper's candidates as buttons (keys 1-9) to choose and then edit, or "none fits
    — write my own" (key N). There is no blank text box to start from."""

    keys = (("1-9", "choose that candidate"), ("N", "none fits: write my own"))
    lists_candidates = True  # every candidate is an option (annotate.kinds.optional)

    def seed(self, form: Any, state: WidgetState, value: dict[str, Any]) -> None:
        cand = value.get("candidate")
        state.set("cand", cand if isinstance(cand, int) else OWN)
        state.set("text", str(value.get("text", "")))

    def value(self, form: Any, state: WidgetState) -> dict[str, Any] | None:
        cand = state.get("cand")
        text = str(state.get("text", "") or "").strip()
        if cand is None or not text:
            return None
        if cand == OWN:
            return {"text": text, "edited": False}
        original = ((form.candidates[cand].text or "").strip()
                    if cand < len(form.candidates) else "")
        return {"text": text, "candidate": cand, "edited": text != original}

    def render(self, form: Any, state: WidgetState) -> None:
        import streamlit as st

        cand = state.get("cand")
        for i, c in enumerate(form.candidates):
            score = f"  ·  score {c.score:.2f}" if c.score is not None else ""
            st.button(f"{plain_markdown(c.text or '')}{score}", key=state.key(f"cand:{i}"),
                      type="primary" if cand == i else "secondary", shortcut=shortcut(form, i),
                      on_click=_pick, args=(form, state, i), width="stretch",
                      help=score_detail(getattr(c, "scores", None)))
        st.button("None fits — write my own", key=state.key("own"),
                  type="primary" if cand == OWN else "tertiary",
                  shortcut="N" if form.shortcuts else None, on_click=_pick,
                  args=(form, state, OWN))
        if cand is not None:
            st.text_area("Edit the chosen text" if cand != OWN else "Your own text",
                         key=state.key("text"), max_chars=form.schema.max_text_length)


def score_detail(scores: Mapping[str, Any] | None) -> str | None:
    """What a rewrite's score is made of, as the button's tooltip."""
    if not scores or scores.get("meaning") is None:
        return None
    fluency = scores.get("fluency")
    parts = [f"meaning kept {scores['meaning']:.2f} ({scores.get('meaning_measure', '')})",
             f"length {scores.get('length_ratio', 0):.1f}x the item's"]
    if fluency is not None:
        parts.append(f"fluency {fluency:.2f} (mean token log-probability)")
    return "; ".join(parts)


def _pick(form: Any, state: WidgetState, index: int) -> None:
    state.set("cand", index)
    state.set("text", "" if index == OWN else (form.candidates[index].text or ""))


class Text:
    name = "text"
    value_model = TextValue
    instruction = "Write the answer the guideline asks for."
    guideline_task = ("Choose the best candidate, edit it if needed, or write your own if none "
                      "fits.")
    max_tokens = 600
    agreement = None
    candidates = TextCandidates()
    labelstudio = TextStudio()
    widget = CandidateButtons()
    # Nobody writes from scratch: the Helper drafts, a person chooses or edits.
    default_policy_overrides: ClassVar[Mapping[str, Any]] = MappingProxyType(
        {"helper_first": True, "llm_annotations": 0, "double_annotation_share": 0.0})

    def check_schema(self, schema: LabelSchema) -> None:
        return None

    def default_schema(self, labels: list[str]) -> dict[str, Any]:
        return {"kind": self.name}

    def check_value(self, schema: LabelSchema, value: Any, text: str) -> dict[str, Any]:
        if len(value.text) > schema.max_text_length:
            raise InvalidInput(f"text is longer than {schema.max_text_length} characters")
        return value.model_dump(exclude_none=True)  # type: ignore[no-any-return]

    def output_schema(self, schema: LabelSchema) -> dict[str, Any]:
        return {"text": {"type": "string", "minLength": 1,
                         "maxLength": min(schema.max_text_length, 600)}}

    def parse_output(self, schema: LabelSchema, data: dict[str, Any], text: str) -> Any:
        return {"text": data.get("text")}

    def example_value(self, label: str) -> dict[str, Any] | None:
        return None

    def value_from_label(self, schema: LabelSchema, cell: Any) -> Any:
        return {"text": cell}

    def label(self, value: dict[str, Any], feature: str | None = None) -> str | None:
        """The text with case and spacing ignored (None when there is none)."""
        text = value.get("text")
        return normalised_text(text) if text else None

    def comparable(self, value: dict[str, Any]) -> Any:
        return normalised_text(value.get("text", ""))

    def show(self, value: dict[str, Any]) -> str:
        return str(value.get("text", ""))


KIND = Text()
