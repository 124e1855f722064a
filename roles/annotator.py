"""The Annotator role: labels an item directly, with a confidence and a short reason.

Output per task kind is a JSON schema: the decision, a short ``reason``, then ``confidence``
(a 0-100 integer; grammars enforce integer ranges). Spans are asked for as quoted
entity text + label and located in the item (the model's offsets are not trusted); an entity
whose text is not in the item is rejected, never stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from annotate.errors import InvalidInput
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

_TASKS = {
    "classification": "Choose the one label that fits the item best.",
    "multilabel": "Choose every label that applies to the item (possibly none).",
    "spans": "List every entity mention in the item: its exact text as written in the item, "
             "and its label.",
    "rating": "Rate the item on each feature, on that feature's scale.",
    "choice": "Which option is better for the item? Choose one option, or tie.",
    "text": "Write the answer the guideline asks for.",
}


def output_schema(schema: LabelSchema) -> dict[str, Any]:
    """The JSON schema the model must answer in, for a project's label schema."""
    decision: dict[str, Any]
    if schema.kind == "classification":
        decision = {"label": {"type": "string", "enum": schema.labels}}
    elif schema.kind == "multilabel":
        decision = {"labels": {"type": "array", "uniqueItems": True, "maxItems": len(schema.labels),
                               "items": {"type": "string", "enum": schema.labels}}}
    elif schema.kind == "spans":
        entity = {"type": "object", "additionalProperties": False, "required": ["text", "label"],
                  "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 120},
                                 "label": {"type": "string", "enum": schema.labels}}}
        decision = {"entities": {"type": "array", "maxItems": 20, "items": entity}}
    elif schema.kind == "rating":
        features = {f.name: {"enum": list(f.scale)} for f in schema.features}
        decision = {"ratings": {"type": "object", "additionalProperties": False,
                                "required": list(features), "properties": features}}
    elif schema.kind == "choice":
        decision = {"choice": {"type": "string", "enum": schema.choices()}}
    else:
        decision = {"text": {"type": "string", "minLength": 1,
                             "maxLength": min(schema.max_text_length, 600)}}
    # Decision first: measured on the embedded model, reason-first collapsed every answer to
    # one wrong label (7% on ConvAbuse vs 77% decision-first); the moderator keeps reason-first.
    properties = {**decision, "reason": REASON, "confidence": CONFIDENCE}
    return {"type": "object", "additionalProperties": False,
            "required": list(properties), "properties": properties}


def render_prompt(ctx: RoleContext, text: str, data: dict[str, Any],
                  meta: dict[str, Any]) -> RenderedPrompt:
    schema = ctx.project.schema
    examples = [{"text": e.text, "answer": json.dumps({"label": e.answer})}
                for e in ctx.project.examples[:5]] if schema.kind == "classification" else []
    return render(
        "annotator", guideline=ctx.project.guideline, examples=examples,
        context=_context(meta), options=data.get("options") or {}, text=text,
        task=_TASKS[schema.kind],
    )


def _context(meta: dict[str, Any]) -> str:
    turns = [f"{k}: {meta[k]}" for k in ("prev_agent", "prev_user", "agent") if meta.get(k)]
    return "\n".join(turns)


def parse_value(schema: LabelSchema, data: dict[str, Any], text: str) -> dict[str, Any]:
    """The model's JSON as a value of the project's kind (raises InvalidInput)."""
    if schema.kind == "spans":
        value: Any = {"spans": locate_entities(data.get("entities", []), text)}
    else:
        key = {"classification": "label", "multilabel": "labels", "rating": "ratings",
               "choice": "choice", "text": "text"}[schema.kind]
        value = {key: data.get(key)}
    return validate_value(schema, value, text)


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
                        max_tokens=_max_tokens(ctx.project.schema))
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


def _max_tokens(schema: LabelSchema) -> int:
    return {"spans": 700, "text": 600, "rating": 300}.get(schema.kind, 200)
