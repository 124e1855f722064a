"""The Helper role: prepares candidates so people choose instead of writing.

It turns "write a paraphrase" into "choose the best paraphrase", and "pick a label" into
"confirm one of these ranked labels". Its candidates are stored as a Suggestion for the item;
people choose, edit or reject them. Candidates are suggestions to check, never truth: the UI
says which model made them.
"""

from __future__ import annotations

from typing import Any

from annotate.errors import InvalidInput
from annotate.kinds.registry import get_kind
from annotate.kinds.schema import LabelSchema, validate_value
from annotate.queue.leases import ClaimedTask
from annotate.queue.wants import RoleWants, Stage
from annotate.queue.worker import Answer
from guidelines.prompts import RenderedPrompt, render
from roles import annotator
from roles.base import RoleContext, RoleFailure, call_model, reject


def output_schema(schema: LabelSchema, n: int) -> dict[str, Any]:
    """Several candidates when the kind has a way to offer them, else one answer."""
    form = get_kind(schema.kind).candidates
    if form is None:
        return annotator.output_schema(schema)
    body = form.output_schema(schema, n)
    return {"type": "object", "additionalProperties": False, "required": list(body),
            "properties": body}


def task_text(schema: LabelSchema, n: int) -> str:
    kind = get_kind(schema.kind)
    return kind.candidates.instruction(n) if kind.candidates else kind.instruction


def _max_tokens(schema: LabelSchema, n: int) -> int:
    form = get_kind(schema.kind).candidates
    return form.max_tokens(n) if form else 300


def render_prompt(ctx: RoleContext, text: str) -> RenderedPrompt:
    n = ctx.project.policy.helper_candidates
    return render("helper", guideline=ctx.project.guideline, text=text,
                  task=task_text(ctx.project.schema, n))


def parse_candidates(schema: LabelSchema, data: dict[str, Any], text: str) -> list[dict[str, Any]]:
    """Candidates as ``[{value, text?, score}]``, each a valid value of the project's kind."""
    form = get_kind(schema.kind).candidates
    if form is not None:
        return [{**cand, "value": validate_value(schema, cand["value"], text),
                 "score": annotator.confidence_of({"confidence": cand["score"]})}
                for cand in form.parse(schema, data)]
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
                            max_tokens=_max_tokens(schema, n))
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
