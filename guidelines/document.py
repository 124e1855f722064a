"""Guideline documents: versioned markdown that instructs people and prompts LLM roles alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

from annotate.kinds.registry import get_kind

if TYPE_CHECKING:
    from annotate.kinds.schema import LabelSchema


def default_guideline(project: str, schema: LabelSchema) -> str:
    """A first guideline built from the schema, for the team to refine."""
    lines = [f"# {project}", "", "## Task", "", get_kind(schema.kind).guideline_task, ""]
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
