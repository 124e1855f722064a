"""Pure helpers behind the answer widgets: tokens for span selection, spans from selected
tokens (and back), and short human-readable forms of answers. No Streamlit here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from annotate.kinds.registry import get_kind

_TOKEN = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]", re.UNICODE)
TIE = "tie"


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


def option_texts(data: dict[str, Any], options: list[str]) -> dict[str, str]:
    """The text of each option of a choice item (``data["options"]`` or top-level keys)."""
    raw = data.get("options")
    nested: dict[str, Any] = raw if isinstance(raw, dict) else {}
    return {o: str(nested.get(o, data.get(o, ""))) for o in options}


def short(kind: str, value: dict[str, Any] | None) -> str:
    """A one-line form of an answer for tables and captions: the kind's own, cut to
    :data:`SHORT` characters."""
    if not value:
        return "—"
    if value.get("decision") == "none":
        return "none of them"
    shown = get_kind(kind).show(value)
    return shown if len(shown) <= SHORT else shown[:SHORT - 3] + "..."


SHORT = 160


_PALETTE = ("blue", "green", "orange", "violet", "red", "gray", "rainbow")


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


_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_IMAGE = re.compile(r"!(?=\s*\[)")


def plain_markdown(text: str) -> str:
    """Text (an item, a model's rationale or candidate) as Markdown that shows it literally:
    every ASCII punctuation mark is escaped, so it can draw no heading, box, link, image
    (nothing is fetched), colour, icon or formula."""
    return _PUNCTUATION.sub(r"\\\1", text)


def no_remote_images(markdown: str) -> str:
    """Owners' Markdown (the guideline) with every image turned into its literal text: the
    reader's browser fetches nothing from anywhere."""
    return _IMAGE.sub(r"\\!", markdown)
