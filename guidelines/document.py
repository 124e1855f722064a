"""Guideline documents: versioned markdown that instructs people and prompts LLM roles alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from annotate.kinds.schema import LabelSchema

_KIND_TASKS = {
    "classification": "Choose the one label that fits the text best.",
    "multilabel": "Choose every label that applies to the text (possibly none).",
    "spans": "Mark every entity mention in the text with its label, exactly at its characters.",
    "rating": "Rate the text on each feature, on that feature's scale.",
    "choice": "Choose the better of the options, or a tie when neither is better.",
    "text": "Choose the best candidate, edit it if needed, or write your own if none fits.",
}


def default_guideline(project: str, schema: LabelSchema) -> str:
    """A first guideline built from the schema, for the team to refine."""
    lines = [f"# {project}", "", "## Task", "", _KIND_TASKS[schema.kind], ""]
    if schema.labels:
        lines += ["## Labels", ""] + [f"- **{label}**: (define)" for label in schema.labels] + [""]
    if schema.features:
        lines += ["## Features", ""]
        lines += [
            f"- **{f.name}** on {', '.join(map(str, f.scale))}: {f.description or '(define)'}"
            for f in schema.features
        ]
        lines.append("")
    if schema.options:
        lines += ["## Options", "", ", ".join(schema.choices()), ""]
    lines += [
        "## Bad answers",
        "",
        "Do not guess when the text does not support an answer; an answer that invents facts "
        "not in the text (a hallucination) is wrong, whoever gives it.",
        "",
        "## What makes an answer the best",
        "",
        "The best answer follows this guideline most closely and is supported by the text itself.",
        "",
    ]
    return "\n".join(lines)
