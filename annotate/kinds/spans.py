"""``spans``: labelled character ranges of the item,
``{"spans": [{"start": 0, "end": 4, "label": "PER", "text": "Анна"}]}``.

Offsets are Python code points. The LLM is asked for quoted entity text + label and the
entities are located in the item (the model's offsets are not trusted); an entity whose text
is not in the item is rejected. Label Studio counts UTF-16 code units; the conversion here
keeps both exact (they differ only after a character outside the Basic Multilingual Plane).
"""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import Field

from annotate.errors import InvalidInput
from annotate.kinds.base import (
    NONE,
    LSControls,
    LSResult,
    Strict,
    json_cell,
    ls_item,
    ls_sub,
    ls_text,
    needs_labels,
    plain_markdown,
    require_label,
)
from annotate.kinds.span_select import SpanSelect

if TYPE_CHECKING:
    from annotate.kinds.schema import LabelSchema

LABEL = "label"  # the Label Studio control


class Span(Strict):
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    label: str
    text: str | None = None


class SpansValue(Strict):
    spans: list[Span]


def locate_entities(entities: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """Find each quoted entity in the text, left to right; unknown text is an error."""
    spans: list[dict[str, Any]] = []
    taken: set[tuple[int, int]] = set()
    cursor = 0
    for entity in entities:
        quote = str(entity.get("text", "")).strip()
        start = text.find(quote, cursor) if quote else -1
        if start < 0:
            start = text.find(quote) if quote else -1
        if start < 0:
            raise InvalidInput(f"entity {quote!r} does not occur in the item text")
        end = start + len(quote)
        if (start, end) in taken:
            continue
        taken.add((start, end))
        spans.append({"start": start, "end": end, "label": entity.get("label"), "text": quote})
        cursor = end
    return spans


def _is_bmp(text: str) -> bool:
    return all(ord(ch) < 0x10000 for ch in text)


def to_utf16(text: str, index: int) -> int:
    """The UTF-16 offset of code-point offset ``index`` in ``text``."""
    if _is_bmp(text[:index]):
        return index
    return len(text[:index].encode("utf-16-le")) // 2


def from_utf16(text: str, offset: int) -> int:
    """The code-point offset of UTF-16 offset ``offset`` in ``text``."""
    units = 0
    for index, ch in enumerate(text):
        if units >= offset:
            if units > offset:
                raise InvalidInput(f"offset {offset} falls inside a character of the text")
            return index
        units += 2 if ord(ch) >= 0x10000 else 1
    if units == offset:
        return len(text)
    raise InvalidInput(f"offset {offset} is beyond the end of the text")


class SpansStudio:
    """``<Labels name="label">`` over ``<Text name="text">``."""

    def build_config(self, view: ET.Element, schema: LabelSchema) -> None:
        labels = ls_sub(view, "Labels", name=LABEL, toName="text")
        for label in schema.labels:
            ls_sub(labels, "Label", value=label)
        ls_text(view)

    def controls(self, schema: LabelSchema) -> dict[str, str]:
        return {LABEL: "labels"}

    def task_data(self, schema: LabelSchema, data: dict[str, Any],
                  candidates: Sequence[str]) -> dict[str, Any]:
        return {}

    def to_result(self, schema: LabelSchema, value: dict[str, Any], text: str) -> LSResult:
        out = []
        for index, span in enumerate(value["spans"]):
            item = ls_item(LABEL, "labels", {
                "start": to_utf16(text, span["start"]), "end": to_utf16(text, span["end"]),
                "text": span["text"], "labels": [span["label"]],
            })
            item["id"] = f"s{index}"
            out.append(item)
        return out

    def from_result(self, schema: LabelSchema, controls: LSControls, text: str,
                    candidates: Sequence[str], started_from: int | None) -> dict[str, Any]:
        spans = []
        for item in controls.get(LABEL, []):
            value = item.get("value", {})
            try:
                start, end = int(value["start"]), int(value["end"])
            except (KeyError, TypeError, ValueError):
                raise InvalidInput(f"a span result has no start/end: {value!r}") from None
            start, end = from_utf16(text, start), from_utf16(text, end)
            quoted = value.get("text")
            for label in value.get("labels", []):
                spans.append({"start": start, "end": end, "label": str(label),
                              **({"text": quoted} if isinstance(quoted, str) else {})})
        return {"spans": spans}


# -- tokens (the LLM's quoted entities and older answers are located by them) --------------

_TOKEN = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]", re.UNICODE)
_PALETTE = ("blue", "green", "orange", "violet", "red", "gray", "rainbow")


@dataclass(frozen=True)
class Token:
    index: int
    start: int
    end: int
    text: str


def tokenize(text: str) -> list[Token]:
    """Words (with inner hyphens/apostrophes) and single punctuation marks, with offsets."""
    return [Token(i, m.start(), m.end(), m.group()) for i, m in enumerate(_TOKEN.finditer(text))]


def spans_from_tokens(text: str, tokens: list[Token],
                      selected: dict[str, list[int]]) -> list[dict[str, Any]]:
    """Runs of adjacent selected tokens become one span per label (``start``, ``end``,
    ``label``, ``text``), in text order."""
    spans = []
    for label, indices in selected.items():
        run: list[int] = []
        for index in sorted(set(indices)):
            if run and index != run[-1] + 1:
                spans.append(_span(text, tokens, run, label))
                run = []
            run.append(index)
        if run:
            spans.append(_span(text, tokens, run, label))
    return sorted(spans, key=lambda s: (s["start"], s["end"], s["label"]))


def _span(text: str, tokens: list[Token], run: list[int], label: str) -> dict[str, Any]:
    start, end = tokens[run[0]].start, tokens[run[-1]].end
    return {"start": start, "end": end, "label": label, "text": text[start:end]}


def tokens_of_spans(tokens: list[Token], spans: list[dict[str, Any]]) -> dict[str, list[int]]:
    """The tokens each label's spans cover (a token counts when it overlaps the span)."""
    out: dict[str, list[int]] = {}
    for span in spans:
        covered = [t.index for t in tokens if t.start < span["end"] and t.end > span["start"]]
        out.setdefault(span["label"], []).extend(covered)
    return {label: sorted(set(idx)) for label, idx in out.items()}


def highlighted(text: str, spans: list[dict[str, Any]], labels: list[str]) -> str:
    """Markdown with each span coloured by its label (Streamlit's ``:color-background[]``)."""
    colour = {label: _PALETTE[i % len(_PALETTE)] for i, label in enumerate(labels)}
    out, pos = [], 0
    for span in sorted(spans, key=lambda s: s["start"]):
        if span["start"] < pos:
            continue
        out.append(plain_markdown(text[pos:span["start"]]))
        inner = plain_markdown(text[span["start"]:span["end"]])
        out.append(f":{colour.get(span['label'], 'gray')}-background[{inner} **{span['label']}**]")
        pos = span["end"]
    out.append(plain_markdown(text[pos:]))
    return "".join(out)


class Spans:
    name = "spans"
    value_model = SpansValue
    instruction = ("List every entity mention in the item: its exact text as written in the "
                   "item, and its label.")
    guideline_task = ("Mark every entity mention in the text with its label, exactly at its "
                      "characters.")
    max_tokens = 700
    agreement = "spans"
    labelstudio = SpansStudio()
    candidates = None
    widget = SpanSelect()

    def check_schema(self, schema: LabelSchema) -> None:
        if not schema.labels:
            raise ValueError(f"a {self.name} schema needs labels")

    def default_schema(self, labels: list[str]) -> dict[str, Any]:
        return needs_labels(self.name, labels)

    def check_value(self, schema: LabelSchema, value: Any, text: str) -> dict[str, Any]:
        out = []
        for span in sorted(value.spans, key=lambda s: (s.start, s.end, s.label)):
            require_label(schema, span.label)
            if span.end <= span.start or span.end > len(text):
                raise InvalidInput(f"span {span.start}-{span.end} ({span.label}) is outside "
                                   f"the text (length {len(text)})")
            quoted = text[span.start : span.end]
            if span.text is not None and span.text != quoted:
                raise InvalidInput(f"span {span.start}-{span.end} quotes {span.text!r} "
                                   f"but the text there is {quoted!r}")
            out.append({"start": span.start, "end": span.end, "label": span.label,
                        "text": quoted})
        if not schema.allow_nested:
            for a, b in itertools.pairwise(out):
                if b["start"] < a["end"]:
                    raise InvalidInput(
                        f"spans {a['start']}-{a['end']} and {b['start']}-{b['end']} overlap "
                        "and this schema does not allow nesting")
        return {"spans": out}

    def output_schema(self, schema: LabelSchema) -> dict[str, Any]:
        entity = {"type": "object", "additionalProperties": False, "required": ["text", "label"],
                  "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 120},
                                 "label": {"type": "string", "enum": schema.labels}}}
        return {"entities": {"type": "array", "maxItems": 20, "items": entity}}

    def parse_output(self, schema: LabelSchema, data: dict[str, Any], text: str) -> Any:
        return {"spans": locate_entities(data.get("entities", []), text)}

    def example_value(self, label: str) -> dict[str, Any] | None:
        return None

    def value_from_label(self, schema: LabelSchema, cell: Any) -> Any:
        """A cell holds the spans as a JSON list."""
        return {"spans": json_cell(cell)}

    def highlight(self, schema: LabelSchema, text: str, value: dict[str, Any]) -> str | None:
        """The spans coloured by label in the text (None when there are none)."""
        return highlighted(text, value["spans"], schema.labels) if value.get("spans") else None

    def label(self, value: dict[str, Any], feature: str | None = None) -> str | None:
        """``start-end:label`` per span joined by ``;``; no spans is :data:`NONE`."""
        if "spans" not in value:
            return None
        return ";".join(f"{s['start']}-{s['end']}:{s['label']}"
                        for s in value["spans"] or []) or NONE

    def comparable(self, value: dict[str, Any]) -> Any:
        return tuple((s["start"], s["end"], s["label"]) for s in value["spans"])

    def show(self, value: dict[str, Any]) -> str:
        return "; ".join(f"{s.get('text', '')!s} [{s['label']}]"
                         for s in value.get("spans") or []) or "(no spans)"


KIND = Spans()
