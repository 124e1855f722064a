"""The Helper role: prepares candidates so people choose instead of writing.

It turns "write a paraphrase" into "choose the best paraphrase", and "pick a label" into
"confirm one of these ranked labels". Its candidates are stored as a Suggestion for the item;
people choose, edit or reject them. Candidates are suggestions to check, never truth: the UI
says which model made them.
"""

from __future__ import annotations

from typing import Any

from annotate.errors import InvalidInput
from annotate.kinds.schema import LabelSchema, validate_value
from annotate.queue.leases import ClaimedTask
from annotate.queue.wants import RoleWants, Stage
from annotate.queue.worker import Answer
from guidelines.prompts import RenderedPrompt, render
from roles import annotator
from roles.base import RoleContext, RoleFailure, call_model, reject


def output_schema(schema: LabelSchema, n: int) -> dict[str, Any]:
    if schema.kind == "text":
        item = {"type": "object", "additionalProperties": False, "required": ["text"],
                "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 400}}}
        body: dict[str, Any] = {"candidates": {"type": "array", "minItems": n, "maxItems": n,
                                               "items": item}}
    elif schema.kind == "classification":
        item = {"type": "object", "additionalProperties": False, "required": ["label", "score"],
                "properties": {"label": {"type": "string", "enum": schema.labels},
                               "score": annotator.CONFIDENCE}}
        k = min(n, len(schema.labels))
        body = {"ranking": {"type": "array", "minItems": 1, "maxItems": k, "items": item}}
    else:
        return annotator.output_schema(schema)
    return {"type": "object", "additionalProperties": False, "required": list(body),
            "properties": body}


def task_text(schema: LabelSchema, n: int) -> str:
    if schema.kind == "text":
        return (f"Write {n} different candidate answers for a person to choose from; each must "
                "be faithful to the item (no facts that are not in it).")
    if schema.kind == "classification":
        return "Rank the labels that could fit the item, most likely first, each with a score."
    return annotator._TASKS[schema.kind]


def render_prompt(ctx: RoleContext, text: str) -> RenderedPrompt:
    n = ctx.project.policy.helper_candidates
    return render("helper", guideline=ctx.project.guideline, text=text,
                  task=task_text(ctx.project.schema, n))


def parse_candidates(schema: LabelSchema, data: dict[str, Any], text: str) -> list[dict[str, Any]]:
    """Candidates as ``[{value, text?, score}]``, each a valid value of the project's kind."""
    if schema.kind == "text":
        out = []
        for i, cand in enumerate(data.get("candidates", [])):
            value = validate_value(schema, {"text": cand["text"], "candidate": i}, text)
            out.append({"value": value, "text": cand["text"], "score": None})
        return out
    if schema.kind == "classification":
        seen: set[str] = set()
        ranked = []
        for entry in data.get("ranking", []):
            label = entry.get("label")
            if label in seen:
                continue
            seen.add(label)
            ranked.append({"value": validate_value(schema, {"label": label}, text),
                           "score": annotator.confidence_of({"confidence": entry.get("score")})})
        return ranked
    value = annotator.parse_value(schema, data, text)
    return [{"value": value, "score": annotator.confidence_of(data)}]


class HelperRole:
    name = "helper"
    wants = RoleWants(Stage.BEFORE_PEOPLE, 1, when="helper_first")  # people pick from it

    def answer(self, ctx: RoleContext, task: ClaimedTask) -> Answer:
        item = ctx.item(task.item_id)
        schema = ctx.project.schema
        prompt = render_prompt(ctx, item.text)
        n = ctx.project.policy.helper_candidates
        result = call_model(ctx, prompt, output_schema(schema, n), task,
                            max_tokens=180 * n if schema.kind == "text" else 300)
        if isinstance(result, RoleFailure):
            return result.as_answer()
        data = result.data if isinstance(result.data, dict) else {}
        try:
            candidates = parse_candidates(schema, data, item.text)
        except (InvalidInput, KeyError, TypeError) as exc:
            return reject(ctx, result, "invalid_value", str(exc)).as_answer()
        if not candidates:
            return reject(ctx, result, "invalid_value", "no candidates").as_answer()
        return Answer(suggestion=candidates, suggestion_meta={
            "model": result.model, "guideline_version": ctx.project.guideline_version,
            "prompt_hash": prompt.prompt_hash})
