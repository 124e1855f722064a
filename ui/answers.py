"""Pure helpers behind the answer views: short human-readable forms of answers, option
texts, Markdown that shows text literally. No Streamlit here. (The span tokens and their
highlighting belong to the spans kind and are re-exported here.)"""

from __future__ import annotations

import re
from typing import Any

from annotate.kinds.base import plain_markdown
from annotate.kinds.registry import get_kind
from annotate.kinds.spans import (
    Token,
    highlighted,
    spans_from_tokens,
    tokenize,
    tokens_of_spans,
)

__all__ = ["TIE", "Token", "highlighted", "no_remote_images", "option_texts", "plain_markdown",
           "short", "spans_from_tokens", "tokenize", "tokens_of_spans"]

TIE = "tie"


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
_IMAGE = re.compile(r"!(?=\s*\[)")


def no_remote_images(markdown: str) -> str:
    """Owners' Markdown (the guideline) with every image turned into its literal text: the
    reader's browser fetches nothing from anywhere."""
    return _IMAGE.sub(r"\\!", markdown)
