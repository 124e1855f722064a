"""The Annotator role: labels an item directly, with a confidence and a short reason.

Output is a JSON schema: the decision (its shape and its parser belong to the task kind,
:mod:`annotate.kinds`), a short ``reason``, then ``confidence`` (a 0-100 integer; grammars
enforce integer ranges). A parsed decision is validated like any answer; an invalid one is
rejected, never stored.
"""

from __future__ import annotations

import dataclasses
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
from roles.confidence import (
    Confidence,
    agreement,
    decision_options,
    logprob_of_decision,
    verbalized,
)
from roles.distilled import Predicted, is_distilled, label_distilled
from roles.stages import for_task, stage_models

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
    return verbalized(data)


@dataclass(frozen=True)
class Labelled:
    """The annotator's valid answer and how it was made."""

    value: dict[str, Any]
    confidence: float | None
    rationale: str | None
    completion: Completion
    prompt: RenderedPrompt
    estimate: Confidence | None = None  # how ``confidence`` was made

    @property
    def confidence_raw(self) -> float | None:
        return self.estimate.raw if self.estimate is not None else self.confidence

    @property
    def estimator(self) -> str:
        return self.estimate.estimator if self.estimate is not None else "verbalized"

    def provenance(self, ctx: RoleContext) -> Provenance:
        detail = self.estimate.detail if self.estimate is not None else {}
        return llm_provenance(ctx, self.completion, self.prompt, confidence=self.confidence,
                              rationale=self.rationale, confidence_estimator=self.estimator,
                              confidence_raw=self.confidence_raw,
                              meta={"confidence_detail": detail} if detail else None)


Label = Labelled | Predicted
"""An annotator answer: from an LLM (:class:`Labelled`) or a distilled model
(:class:`~roles.distilled.Predicted`, for ``--model distilled:NAME``)."""


def label_text(ctx: RoleContext, text: str, data: dict[str, Any], meta: dict[str, Any],
               attempt: Attempt) -> Label | RoleFailure:
    """render -> call -> parse -> validate for one text (a distilled model answers
    directly, without a prompt)."""
    if is_distilled(ctx.model):
        return label_distilled(ctx, [text], [data])[0]
    prompt = render_prompt(ctx, text, data, meta)
    estimator = ctx.project.policy.estimator_for(ctx.model)
    if estimator == "consistency":
        return _label_by_samples(ctx, text, prompt, attempt)
    result = _answer(ctx, text, prompt, attempt, logprobs=estimator == "logprob")
    if isinstance(result, RoleFailure):
        return result
    completion, answer, value = result
    raw, used = verbalized(answer), "verbalized"
    if estimator == "logprob":
        raw, used = _logprob(ctx, completion, answer), "logprob"
    estimate = Confidence(ctx.calibrate(used, raw), raw, used)
    return Labelled(value, estimate.value, answer.get("reason"), completion, prompt, estimate)


def _answer(ctx: RoleContext, text: str, prompt: RenderedPrompt, attempt: Attempt, *,
            logprobs: bool = False, sample: int | None = None,
            ) -> tuple[Completion, dict[str, Any], dict[str, Any]] | RoleFailure:
    """call -> parse -> validate: the completion, its JSON and the valid value."""
    result = call_model(ctx, prompt, output_schema(ctx.project.schema), attempt,
                        max_tokens=get_kind(ctx.project.schema.kind).max_tokens,
                        logprobs=logprobs, sample=sample)
    if isinstance(result, RoleFailure):
        return result
    answer = result.data if isinstance(result.data, dict) else {}
    try:
        value = parse_value(ctx.project.schema, answer, text)
    except InvalidInput as exc:
        return reject(ctx, result, "invalid_value", str(exc))
    return result, answer, value


def _logprob(ctx: RoleContext, completion: Completion, answer: dict[str, Any]) -> float | None:
    """P(decision) from the answer's token log-probabilities; None when the kind's decision
    is not one of a list or the model server returned none."""
    options = decision_options(get_kind(ctx.project.schema.kind).output_schema(
        ctx.project.schema))
    if options is None or not completion.logprobs:
        return None
    key, labels = options
    chosen = answer.get(key)
    if not isinstance(chosen, str):
        return None
    return logprob_of_decision(completion.logprobs, key, labels, chosen)


def _label_by_samples(ctx: RoleContext, text: str, prompt: RenderedPrompt,
                      attempt: Attempt) -> Labelled | RoleFailure:
    """k sampled answers (each a call through the gateway, with its cost): the majority
    answer, with the share that agree as its confidence and the answers' entropy."""
    valid: list[tuple[Completion, dict[str, Any], dict[str, Any]]] = []
    failure: RoleFailure | None = None
    for sample in range(ctx.project.policy.consistency_samples):
        result = _answer(ctx, text, prompt, attempt, sample=sample)
        if isinstance(result, RoleFailure):
            failure = result
        else:
            valid.append(result)
    if not valid:
        assert failure is not None
        return failure
    index, share, entropy = agreement([v for _, _, v in valid])
    completion, answer, value = valid[index]
    asked = ctx.project.policy.consistency_samples
    raw = share * len(valid) / asked  # a failed sample counts as a disagreeing one
    detail = {"samples": asked, "valid": len(valid), "entropy": round(entropy, 4),
              "llm_call_ids": [c.call_id for c, _, _ in valid]}
    total = dataclasses.replace(
        completion, cost_usd=sum(c.cost_usd for c, _, _ in valid),
        latency_s=sum(c.latency_s for c, _, _ in valid))
    estimate = Confidence(ctx.calibrate("consistency", raw), raw, "consistency", detail)
    return Labelled(value, estimate.value, answer.get("reason"), total, prompt, estimate)


class AnnotatorRole:
    """Labels items directly (the seed's "annotator": hallucinations are handled like human
    mistakes: validated, counted, retried, never stored as a label when invalid)."""

    name = "annotator"
    wants = RoleWants(Stage.FIRST_PASS, "llm_annotations", counts_imported=True)

    def answer(self, ctx: RoleContext, task: ClaimedTask) -> Answer:
        ctx = for_task(ctx, task)  # a cascade stage's task: that stage's annotator answers
        item = ctx.item(task.item_id)
        result = label_text(ctx, item.text, item.data or {}, item.meta or {}, Attempt.of(task))
        if isinstance(result, RoleFailure):
            return result.as_answer()
        return Answer(value=result.value, provenance=result.provenance(ctx))

    def answer_batch(self, ctx: RoleContext, tasks: list[ClaimedTask]) -> list[Answer]:
        """A distilled model labels its tasks of the batch in one call (one batch of
        embeddings); an LLM answers one task after another. In a cascade each task is
        answered by its stage's annotator."""
        models = stage_models(ctx, tasks)
        answers: dict[int, Answer] = {}
        for model in dict.fromkeys(models.values()):
            mine = [task for task in tasks if models[task.id] == model]
            stage_ctx = ctx if model == ctx.model else dataclasses.replace(ctx, model=model)
            if not is_distilled(model):
                answers.update((t.id, self.answer(stage_ctx, t)) for t in mine)
                continue
            items = ctx.items([t.item_id for t in mine])
            results = label_distilled(stage_ctx, [it.text for it in items],
                                      [it.data or {} for it in items])
            answers.update((t.id, r.as_answer() if isinstance(r, RoleFailure) else
                            Answer(value=r.value, provenance=r.provenance(stage_ctx)))
                           for t, r in zip(mine, results, strict=True))
        return [answers[task.id] for task in tasks]
