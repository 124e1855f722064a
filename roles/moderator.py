"""The Moderator role: picks the best of disagreeing answers, with a rationale.

Called by the routing policy only when annotators disagree. It gets the guideline's formal
definition of the best answer and the distinct answers, anonymised (no "human"/"LLM" tags).
It is asked twice, with the options in opposite orders; when the two picks differ the
decision is recorded as position-inconsistent with confidence 0, which sends the item to a
person. It may use a different model from the annotators' (models prefer their own answers).
"""

from __future__ import annotations

import string
from typing import Any

from annotate.kinds.registry import get_kind
from annotate.kinds.schema import comparable
from annotate.llm.types import Completion
from annotate.queue.leases import ClaimedTask
from annotate.queue.wants import RoleWants, Stage
from annotate.queue.worker import Answer
from guidelines.prompts import RenderedPrompt, render, section
from roles import annotator
from roles.base import RoleContext, RoleFailure, call_model, item_annotations, llm_provenance

BEST_FALLBACK = "The answer that follows the guideline most closely and is supported by the item."


def distinct_answers(kind: str, values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The different answers, most frequent first (ties in order of appearance)."""
    counts: dict[Any, int] = {}
    first: dict[Any, dict[str, Any]] = {}
    for value in values:
        key = comparable(kind, value)
        counts[key] = counts.get(key, 0) + 1
        first.setdefault(key, value)
    order = sorted(first, key=lambda k: -counts[k])
    return [first[k] for k in order]


def show(kind: str, value: dict[str, Any]) -> str:
    """An answer as the moderator sees it: the kind's one-line form, the same people see
    (no provenance such as a text answer's candidate number)."""
    return get_kind(kind).show(value)


def output_schema(names: list[str]) -> dict[str, Any]:
    properties = {"reason": {"type": "string", "maxLength": 300},
                  "best": {"type": "string", "enum": [*names, "none"]},
                  "confidence": annotator.CONFIDENCE}
    return {"type": "object", "additionalProperties": False, "required": list(properties),
            "properties": properties}


def render_prompt(ctx: RoleContext, text: str, shown: list[str]) -> RenderedPrompt:
    names = list(string.ascii_uppercase[: len(shown)])
    best = section(ctx.project.guideline, "What makes an answer the best") or BEST_FALLBACK
    return render("moderator", guideline=ctx.project.guideline, best_definition=best,
                  text=text, answers=list(zip(names, shown, strict=True)))


class ModeratorRole:
    name = "moderator"
    wants = RoleWants(Stage.AFTER_DISAGREEMENT, 1, when="moderator_on_disagreement")

    def answer(self, ctx: RoleContext, task: ClaimedTask) -> Answer:
        kind = ctx.project.schema.kind
        item = ctx.item(task.item_id)
        answers = distinct_answers(kind, [r.value for r in item_annotations(ctx.store, item.id)])
        if len(answers) < 2:
            return Answer(failure="nothing to moderate: the answers agree")
        model = ctx.project.policy.moderator_model or ctx.model
        picks: list[tuple[int | None, dict[str, Any], Completion, RenderedPrompt]] = []
        for order in (list(range(len(answers))), list(reversed(range(len(answers))))):
            shown = [show(kind, answers[i]) for i in order]
            prompt = render_prompt(ctx, item.text, shown)
            names = list(string.ascii_uppercase[: len(shown)])
            result = call_model(ctx, prompt, output_schema(names), task, model=model,
                                max_tokens=400)
            if isinstance(result, RoleFailure):
                return result.as_answer()
            data = result.data if isinstance(result.data, dict) else {}
            best = data.get("best")
            picks.append((order[names.index(best)] if best in names else None, data, result,
                          prompt))
        return _decide(ctx, answers, picks)


def _decide(ctx: RoleContext, answers: list[dict[str, Any]],
            picks: list[tuple[int | None, dict[str, Any], Completion, RenderedPrompt]]) -> Answer:
    (first, data, completion, prompt), (second, data2, completion2, _) = picks
    consistent = first == second
    confidence = annotator.confidence_of(data) or 0.0
    if not consistent:
        confidence = 0.0
    value = answers[first] if first is not None else {"decision": "none"}
    meta = {"position_consistent": consistent, "swapped_pick": second,
            "swapped_reason": data2.get("reason"), "n_answers": len(answers)}
    provenance = llm_provenance(ctx, completion, prompt, confidence=confidence,
                                rationale=data.get("reason"), meta=meta)
    provenance.cost_usd += completion2.cost_usd
    return Answer(value=value, provenance=provenance)
