"""The Annotator role: labels an item directly, with a confidence and a short reason.

Output is a JSON schema: the decision (its shape and its parser belong to the task kind,
:mod:`annotate.kinds`), a short ``reason``, then ``confidence`` (a 0-100 integer; grammars
enforce integer ranges). A parsed decision is validated like any answer; an invalid one is
rejected, never stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from annotate.errors import InvalidInput
from annotate.kinds.registry import get_kind
from annotate.kinds.schema import LabelSchema, validate_value
from annotate.llm.types import Completion
from annotate.queue.leases import ClaimedTask, Provenance
from annotate.queue.wants import RoleWants, Stage
from annotate.queue.worker import Answer
from guidelines.prompts import RenderedPrompt, render
from roles.base import (
    Attempt,
    RoleContext,
    RoleFailure,
    call_model,
    llm_provenance,
    reject,
)
from roles.distilled import Predicted, is_distilled, label_distilled

REASON = {"type": "string", "maxLength": 100}
# An integer percentage: llama.cpp's grammars enforce integer ranges but not number bounds.
CONFIDENCE = {"type": "integer", "minimum": 0, "maximum": 100}

def output_schema(schema: LabelSchema) -> dict[str, Any]:
    """The JSON schema the model must answer in, for a project's label schema."""
    decision = get_kind(schema.kind).output_schema(schema)
    # Decision first: measured on the embedded model, reason-first collapsed every answer to
    # one wrong label (7% on ConvAbuse vs 77% decision-first); the moderator keeps reason-first.
    properties = {**decision, "reason": REASON, "confidence": CONFIDENCE}
    return {"type": "object", "additionalProperties": False,
            "required": list(properties), "properties": properties}


def render_prompt(ctx: RoleContext, text: str, data: dict[str, Any],
                  meta: dict[str, Any]) -> RenderedPrompt:
    kind = get_kind(ctx.project.schema.kind)
    shots = ((e.text, kind.example_value(e.answer)) for e in ctx.project.examples[:5])
    examples = [{"text": t, "answer": json.dumps(answer)} for t, answer in shots if answer]
    return render(
        "annotator", guideline=ctx.project.guideline, examples=examples,
        context=_context(meta), options=data.get("options") or {}, text=text,
        task=kind.instruction,
    )


def _context(meta: dict[str, Any]) -> str:
    turns = [f"{k}: {meta[k]}" for k in ("prev_agent", "prev_user", "agent") if meta.get(k)]
    return "\n".join(turns)


def parse_value(schema: LabelSchema, data: dict[str, Any], text: str) -> dict[str, Any]:
    """The model's JSON as a value of the project's kind (raises InvalidInput)."""
    return validate_value(schema, get_kind(schema.kind).parse_output(schema, data, text), text)


def confidence_of(data: dict[str, Any]) -> float | None:
    """The model's confidence (a 0-100 percentage in the answer) as a 0-1 probability."""
    value = data.get("confidence")
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    return max(0.0, min(1.0, float(value) / 100.0))


@dataclass(frozen=True)
class Labelled:
    """The annotator's valid answer and how it was made."""

    value: dict[str, Any]
    confidence: float | None
    rationale: str | None
    completion: Completion
    prompt: RenderedPrompt

    def provenance(self, ctx: RoleContext) -> Provenance:
        return llm_provenance(ctx, self.completion, self.prompt, confidence=self.confidence,
                              rationale=self.rationale)


Label = Labelled | Predicted
"""An annotator answer: from an LLM (:class:`Labelled`) or a distilled model
(:class:`~roles.distilled.Predicted`, for ``--model distilled:NAME``)."""


def label_text(ctx: RoleContext, text: str, data: dict[str, Any], meta: dict[str, Any],
               attempt: Attempt) -> Label | RoleFailure:
    """render -> call -> parse -> validate for one text (a distilled model answers
    directly, without a prompt)."""
    if is_distilled(ctx.model):
        return label_distilled(ctx, [text])[0]
    prompt = render_prompt(ctx, text, data, meta)
    result = call_model(ctx, prompt, output_schema(ctx.project.schema), attempt,
                        max_tokens=get_kind(ctx.project.schema.kind).max_tokens)
    if isinstance(result, RoleFailure):
        return result
    answer = result.data if isinstance(result.data, dict) else {}
    try:
        value = parse_value(ctx.project.schema, answer, text)
    except InvalidInput as exc:
        return reject(ctx, result, "invalid_value", str(exc))
    return Labelled(value, confidence_of(answer), answer.get("reason"), result, prompt)


class AnnotatorRole:
    """Labels items directly (the seed's "annotator": hallucinations are handled like human
    mistakes: validated, counted, retried, never stored as a label when invalid)."""

    name = "annotator"
    wants = RoleWants(Stage.FIRST_PASS, "llm_annotations", counts_imported=True)

    def answer(self, ctx: RoleContext, task: ClaimedTask) -> Answer:
        item = ctx.item(task.item_id)
        result = label_text(ctx, item.text, item.data or {}, item.meta or {}, Attempt.of(task))
        if isinstance(result, RoleFailure):
            return result.as_answer()
        return Answer(value=result.value, provenance=result.provenance(ctx))
