"""The Helper role: prepares candidates so people choose instead of writing.

It turns "write a paraphrase" into "choose the best paraphrase", and "pick a label" into
"confirm one of these ranked labels". Its candidates are stored as a Suggestion for the item;
people choose, edit or reject them. Candidates are suggestions to check, never truth: the UI
says which model made them.

Choosing only beats writing when the options differ, so written candidates go through
:mod:`roles.candidates`: copies of the source, duplicates, empty text and text from the prompt
are dropped (each drop counted by reason), and the Helper asks again, a bounded number of
times (``extra_calls``), while fewer than the policy's ``helper_candidates`` are left. Every
call asks for the whole list; re-asks sample it (temperature 0.7, a seed per call):
``strategy="list"``. Asking for one sampled candidate per re-ask (``"samples"``) gave fewer
usable candidates for the same calls on the embedded model (0.83 vs 1.17 per item of 3,
BENCHMARKS.md), though each call is shorter. Kept candidates are scored, the best
``helper_candidates`` are stored best first, each with a stable ``id`` and ``index``; the
suggestion's ``stats`` say how many were asked, found and dropped, and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from annotate.errors import InvalidInput
from annotate.kinds.registry import get_kind
from annotate.kinds.schema import LabelSchema, validate_value
from annotate.llm.types import Completion
from annotate.queue.leases import ClaimedTask
from annotate.queue.wants import RoleWants, Stage
from annotate.queue.worker import Answer
from guidelines.prompts import RenderedPrompt, render
from roles import annotator
from roles.base import Attempt, RoleContext, RoleFailure, call_model, reject
from roles.candidates import (
    Embedder,
    Meaning,
    Selection,
    default_embedder,
    mean_logprob,
    numbered,
    scored_labels,
    scored_rewrites,
)

Strategy = Literal["samples", "list"]
EXTRA_CALLS = 2  # the policy's default helper_extra_calls
STRATEGY: Strategy = "list"


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


def render_prompt(ctx: RoleContext, text: str, n: int | None = None) -> RenderedPrompt:
    n = n or ctx.project.policy.helper_candidates
    return render("helper", guideline=ctx.project.guideline, text=text,
                  task=task_text(ctx.project.schema, n))


def parse_raw(schema: LabelSchema, data: dict[str, Any], text: str) -> list[dict[str, Any]]:
    """Candidates as the kind parses them, ``[{value, text?, score}]``, not yet validated;
    a kind without a candidates form gives the annotator's one answer."""
    form = get_kind(schema.kind).candidates
    if form is not None:
        return form.parse(schema, data)
    value = get_kind(schema.kind).parse_output(schema, data, text)
    return [{"value": value, "score": data.get("confidence")}]


def parse_candidates(schema: LabelSchema, data: dict[str, Any], text: str) -> list[dict[str, Any]]:
    """Candidates as ``[{value, text?, score}]``, each a valid value of the project's kind
    (raises InvalidInput on the first invalid one)."""
    return [{**cand, "value": validate_value(schema, cand["value"], text),
             "score": annotator.confidence_of({"confidence": cand["score"]})}
            for cand in parse_raw(schema, data, text)]


@dataclass
class Gathered:
    """What the Helper's calls produced for one item: kept candidates, drops, calls."""

    candidates: list[dict[str, Any]]
    stats: dict[str, Any]
    first: Completion
    prompt: RenderedPrompt
    failures: list[RoleFailure] = field(default_factory=list)


def _renumber(cand: dict[str, Any], index: int) -> dict[str, Any]:
    value = cand.get("value")
    if isinstance(value, dict) and "candidate" in value:  # which candidate a value started from
        value = {**value, "candidate": index}
    return {**cand, "value": value}


def _offer_written(ctx: RoleContext, selection: Selection, raw: list[dict[str, Any]],
                   completion: Completion, text: str) -> None:
    selection.meaning.prime(str(cand.get("text") or "") for cand in raw)
    cursor = 0
    for cand in raw:
        written = str(cand.get("text") or "")
        fluency, cursor = mean_logprob(written, completion.text, completion.logprobs, cursor)
        if not selection.offer({**cand, "fluency": fluency}):
            continue
        try:
            selection.kept[-1]["value"] = validate_value(ctx.project.schema, cand["value"], text)
        except (InvalidInput, KeyError, TypeError):
            selection.kept.pop()
            selection.dropped["invalid"] += 1


def gather(ctx: RoleContext, attempt: Attempt, text: str, *, extra_calls: int = EXTRA_CALLS,
           strategy: Strategy = STRATEGY, embedder: Embedder | None = None,
           check: bool = True) -> Gathered | RoleFailure:
    """render -> call -> parse -> validate, again while fewer than ``helper_candidates``
    distinct usable candidates are left (at most ``1 + extra_calls`` calls). ``check=False``
    is the Helper before candidates were checked (one call, every candidate shown), kept to
    measure against (benchmarks/helper_candidates.py)."""
    schema, n = ctx.project.schema, ctx.project.policy.helper_candidates
    selection: Selection | None = None
    first: tuple[Completion, RenderedPrompt] | None = None
    failures: list[RoleFailure] = []
    calls = 0
    while calls < 1 + (extra_calls if check else 0):
        ask = n if calls == 0 or strategy == "list" else 1
        prompt = render_prompt(ctx, text, ask)
        result = call_model(ctx, prompt, output_schema(schema, ask), attempt,
                            max_tokens=_max_tokens(schema, ask), logprobs=check,
                            sample=None if calls == 0 else calls - 1)
        calls += 1
        if isinstance(result, RoleFailure):
            failures.append(result)
            continue
        first = first or (result, prompt)
        data = result.data if isinstance(result.data, dict) else {}
        try:
            raw = parse_raw(schema, data, text)
        except (InvalidInput, KeyError, TypeError) as exc:
            failures.append(reject(ctx, result, "invalid_value", str(exc)))
            continue
        if not check or not any("text" in c for c in raw):  # labels: one ranking is enough
            return _labels(ctx, result, prompt, text, failures, calls, check)
        if selection is None:
            selection = Selection(text, prompt.system + "\n" + prompt.user, Meaning(
                text, embedder, ctx.project.policy.helper_min_meaning))
        _offer_written(ctx, selection, raw, result, text)
        if len(selection.kept) >= n:
            break
    if first is None or selection is None:
        return failures[-1]
    kept = numbered(scored_rewrites(selection)[:n], _renumber)
    stats = {"asked": n, "found": len(kept), "calls": calls, "strategy": strategy,
             "seen": selection.seen, "dropped": dict(selection.dropped),
             "failed_calls": len(failures), "meaning_measure": selection.meaning.measure}
    return Gathered(kept, stats, first[0], first[1], failures)


def _labels(ctx: RoleContext, result: Completion, prompt: RenderedPrompt, text: str,
            failures: list[RoleFailure], calls: int, check: bool) -> Gathered | RoleFailure:
    data = result.data if isinstance(result.data, dict) else {}
    try:
        parsed = parse_candidates(ctx.project.schema, data, text)
    except (InvalidInput, KeyError, TypeError) as exc:
        return reject(ctx, result, "invalid_value", str(exc))
    if not parsed:
        return reject(ctx, result, "invalid_value", "no candidates")
    ranked = parsed if not check else scored_labels(
        parsed, lambda raw: ctx.calibrate("verbalized", raw))
    kept = numbered(ranked, _renumber)
    stats = {"asked": ctx.project.policy.helper_candidates, "found": len(kept), "calls": calls,
             "seen": len(kept), "dropped": {}, "failed_calls": len(failures)}
    return Gathered(kept, stats, result, prompt, failures)


class HelperRole:
    name = "helper"
    wants = RoleWants(Stage.BEFORE_PEOPLE, 1, when="helper_first")  # people pick from it

    def __init__(self) -> None:
        self._embedder: Embedder | None = None
        self._embedder_loaded = False

    def embedder(self) -> Embedder | None:
        """MiniLM when installed (one per role object; loaded on its first use)."""
        if not self._embedder_loaded:
            self._embedder, self._embedder_loaded = default_embedder(), True
        return self._embedder

    def answer(self, ctx: RoleContext, task: ClaimedTask) -> Answer:
        item = ctx.item(task.item_id)
        got = gather(ctx, Attempt.of(task), item.text,
                     extra_calls=ctx.project.policy.helper_extra_calls,
                     embedder=self.embedder())
        if isinstance(got, RoleFailure):
            return got.as_answer()
        return Answer(suggestion=got.candidates, suggestion_meta={
            "model": got.first.model, "guideline_version": ctx.project.guideline_version,
            "prompt_hash": got.prompt.prompt_hash, "stats": got.stats})
