"""The Expert role: an assistant to the annotation lead, called on demand (not from the queue).

- ``review``: reads the guideline and 5-10 items; returns pitfalls, ambiguous cases and a
  proposed revision, saved as a new guideline version with a diff to the last;
- ``synthesise``: synthetic items, by default paraphrases of real items so that they look like
  real ones (the seed's lesson), flagged ``synthetic``; near-copies and drifted paraphrases
  are dropped and a batch a classifier tells from the real items is refused
  (:mod:`roles.realism`, bounds from the policy);
- ``estimate``: before a job, LLM tokens and cost for the whole project and human minutes
  from the median time people spent per item;
- ``anomalies`` (in :mod:`annotate.services.anomalies`, no model needed): duplicates, empty or huge
  texts, wrong language, label-distribution outliers.
"""

from __future__ import annotations

import difflib
import random
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import func, select

from annotate.errors import InvalidInput, LLMFailure
from annotate.llm.types import LLMClient, LLMError, LLMParams, LLMRequest
from annotate.projects.catalog import get_project, save_guideline
from annotate.store.engine import Store
from annotate.store.models import Annotation, Item, Project
from guidelines.prompts import render
from roles.base import ProjectContext
from roles.candidates import Embedder, default_embedder
from roles.realism import Bounds, Checked, Paraphrase, Realism, check, realism_auc, verdict

SHORT = {"type": "string", "maxLength": 200}


def _ask(llm: LLMClient, model: str, system: str, user: str, schema: dict[str, Any],
         max_tokens: int) -> dict[str, Any] | None:
    """The model's JSON answer; None when the text held personal data that could not be
    redacted with confidence (the gateway's personal-data door did not send it)."""
    request = LLMRequest.chat(system, user, json_schema=schema, model=model, role="expert",
                              params=LLMParams(max_tokens=max_tokens))
    result = llm.complete(request)
    if isinstance(result, LLMError) and result.kind == "personal_data":
        return None
    if isinstance(result, LLMError):
        raise LLMFailure(f"the expert's answer was unusable ({result.kind}: {result.message}); "
                         "it is on the ledger with its raw text")
    return result.data if isinstance(result.data, dict) else {}


def sample_items(store: Store, project_id: int, n: int, seed: int = 0) -> list[Item]:
    with store.session() as session:
        ids = list(session.scalars(select(Item.id).where(Item.project_id == project_id,
                                                         Item.synthetic.is_(False))))
        chosen = random.Random(seed).sample(ids, min(n, len(ids)))
        items = list(session.scalars(select(Item).where(Item.id.in_(chosen)).order_by(Item.id)))
        for item in items:
            session.expunge(item)
        return items


@dataclass
class Review:
    pitfalls: list[str]
    ambiguous: list[str]
    revision: str
    version: str
    diff: str


REVIEW_SCHEMA = {
    "type": "object", "additionalProperties": False,
    "required": ["pitfalls", "ambiguous_cases", "revised_guideline"],
    "properties": {
        "pitfalls": {"type": "array", "maxItems": 6, "items": SHORT},
        "ambiguous_cases": {"type": "array", "maxItems": 6, "items": SHORT},
        "revised_guideline": {"type": "string", "maxLength": 4000},
    },
}


def review(store: Store, llm: LLMClient, project: str, *, model: str, n_items: int = 8,
           seed: int = 0) -> Review:
    """Critique the guideline on real items and save the proposed revision as a new version."""
    ctx = ProjectContext.load(store, project)
    items = sample_items(store, ctx.project_id, n_items, seed)
    prompt = render("expert", guideline=ctx.guideline, items=[i.text for i in items],
                    task="Read the guideline and the items. List the pitfalls annotators will "
                    "meet, the ambiguous cases the guideline does not settle, and write a "
                    "revised guideline in markdown that settles them (keep its sections).")
    data = _ask(llm, model, prompt.system, prompt.user, REVIEW_SCHEMA, 1800)
    if data is None:
        raise LLMFailure("the sampled items hold personal data that cannot be redacted with "
                         "confidence; review them with the local model or another --seed")
    revision = str(data.get("revised_guideline", "")).strip()
    if len(revision) < 40:
        raise LLMFailure("the expert proposed no usable revision; the guideline is unchanged")
    with store.session() as session:
        proj = get_project(session, project)
        saved = save_guideline(session, proj, revision, note="proposed by the expert role",
                               author=f"llm:{model}")
    diff = "\n".join(difflib.unified_diff(ctx.guideline.splitlines(), revision.splitlines(),
                                          "guideline (current)", "guideline (proposed)",
                                          lineterm=""))
    return Review(pitfalls=list(data.get("pitfalls", [])),
                  ambiguous=list(data.get("ambiguous_cases", [])),
                  revision=revision, version=saved.version, diff=diff)


SYNTH_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["paraphrases"],
    "properties": {"paraphrases": {"type": "array", "minItems": 1, "maxItems": 3,
                                   "items": {"type": "string", "minLength": 1,
                                             "maxLength": 400}}},
}


@dataclass
class SynthReport:
    """What ``synthesise`` made and imported, and how real it looks (:mod:`roles.realism`)."""

    created: list[int]
    asked: int
    checked: Checked
    realism: Realism
    bounds: Bounds
    unchecked: Realism | None = None  # every non-empty paraphrase, before the checks
    refused: str | None = None
    forced: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"created": len(self.created), "asked": self.asked,
                "answered": self.checked.answered, "kept": len(self.checked.kept),
                "dropped": dict(self.checked.dropped),
                "copy_share": self.checked.copy_share,
                "meaning": self.checked.meaning_summary(self.bounds.min_meaning),
                "realism": self.realism.__dict__, "bounds": self.bounds.__dict__,
                "realism_before_checks": None if self.unchecked is None
                else self.unchecked.__dict__,
                "refused": self.refused, "forced": self.forced}


def synthesise(store: Store, llm: LLMClient, project: str, *, model: str, n: int = 50,
               from_real: bool = True, seed: int = 0, force: bool = False,
               embedder: Embedder | Literal["default"] | None = "default") -> SynthReport:
    """Paraphrase up to ``n`` real items and import those within the policy's bounds, flagged
    synthetic, with the tasks the policy asks for: near-copies and drifted paraphrases are
    dropped; the whole batch is refused (unless ``force``) when a classifier tells it from
    the real items (AUC above ``synth_max_auc``)."""
    ctx = ProjectContext.load(store, project)
    if not from_real:
        raise InvalidInput("only --from-real synthesis is supported: generated items that are "
                           "not grounded in real ones tend not to look like real data")
    sources = sample_items(store, ctx.project_id, n, seed)
    if not sources:
        raise InvalidInput(f"project {project!r} has no items to paraphrase")
    answers, failed = _paraphrase(llm, model, ctx.guideline, sources)
    embedder = default_embedder() if embedder == "default" else embedder
    bounds = Bounds.of(ctx.policy)
    checked = check(answers, bounds, embedder, _synthetic_texts(store, ctx.project_id))
    checked.dropped.update(+failed)
    real = [(s.external_id, s.text) for s in sources]
    realism = realism_auc(real, [(p.source_id, p.text) for p in checked.kept], embedder,
                          seed=seed)
    unchecked = realism_auc(real, [(p.source_id, p.text) for p in answers if p.text], embedder,
                            seed=seed) if len(checked.kept) < len(answers) else realism
    report = SynthReport([], len(sources), checked, realism, bounds, unchecked=unchecked,
                         refused=verdict(realism, bounds), forced=force)
    if report.refused is None or force:
        report.created = _import(store, ctx.project_id, checked.kept, model)
    return report


def _paraphrase(llm: LLMClient, model: str, guideline: str,
                sources: list[Item]) -> tuple[list[Paraphrase], Counter[str]]:
    """One paraphrase per source, and the sources without one by reason (an unusable answer
    is on the ledger with its raw text; personal data that could not be redacted is not
    sent)."""
    answers, failed = [], Counter[str]()
    for source in sources:
        prompt = render("expert", guideline=guideline, items=[source.text],
                        task="Paraphrase the item once: same meaning, same register and "
                        "length, different words. It must read like a real item of this data.")
        try:
            data = _ask(llm, model, prompt.system, prompt.user, SYNTH_SCHEMA, 300)
        except LLMFailure:
            failed["unusable"] += 1
            continue
        failed["not_sent"] += data is None
        for text in (data or {}).get("paraphrases", [])[:1]:
            answers.append(Paraphrase(source.external_id, source.text, str(text).strip(),
                                      prompt.system + "\n" + prompt.user))
    return answers, failed


def _synthetic_texts(store: Store, project_id: int) -> list[str]:
    with store.session() as session:
        return list(session.scalars(select(Item.text).where(Item.project_id == project_id,
                                                            Item.synthetic.is_(True))))


def _import(store: Store, project_id: int, kept: list[Paraphrase], model: str) -> list[int]:
    from annotate.projects.policy import RoutingPolicy
    from annotate.queue.routing import PlannedItem, plan_initial_tasks

    with store.session() as session:
        proj = session.get(Project, project_id)
        assert proj is not None
        start = session.scalar(select(func.count()).select_from(Item).where(  # ids stay unique
            Item.project_id == project_id, Item.synthetic.is_(True))) or 0
        new = [Item(project_id=proj.id, external_id=f"synth-{p.source_id}-{start + i}",
                    text=p.text, synthetic=True,
                    meta={"synthetic": True, "paraphrase_of": p.source_id, "model": model})
               for i, p in enumerate(kept)]
        session.add_all(new)
        session.flush()
        plan_initial_tasks(session, proj, RoutingPolicy.model_validate(proj.policy_json),
                           [PlannedItem(it.id, it.external_id) for it in new])
        return [it.id for it in new]


@dataclass
class Estimate:
    items: int
    llm_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    human_minutes: float | None
    notes: list[str] = field(default_factory=list)


def estimate(store: Store, project: str, *, model: str, calls_per_item: float = 1.3,
             completion_tokens: int = 60) -> Estimate:
    """Before a job: tokens and cost of the LLM roles for the whole project, and the human
    minutes implied by the median seconds people spent per item so far (the pilot)."""
    from annotate.llm.gateway import Gateway, GatewaySettings

    ctx = ProjectContext.load(store, project)
    with store.session() as session:
        n_items, chars = session.execute(
            select(func.count(), func.coalesce(func.sum(func.length(Item.text)), 0))
            .where(Item.project_id == ctx.project_id)).one()
        seconds = [s for s in session.scalars(select(Annotation.human_seconds).where(
            Annotation.project_id == ctx.project_id, Annotation.human_seconds.is_not(None)))
            if s]
    per_call_prompt = len(ctx.guideline) // 4 + 120
    calls = round(int(n_items) * calls_per_item)
    prompt_tokens = calls * per_call_prompt + int(chars) // 4
    out_tokens = calls * completion_tokens
    average_item = "x" * (int(chars) // max(int(n_items), 1))
    one_call = LLMRequest.chat(ctx.guideline, average_item,
                               params=LLMParams(max_tokens=completion_tokens))
    cost = Gateway(store, None, GatewaySettings(model=model)).estimate_cost(one_call) * calls
    notes = [f"assumes {calls_per_item} LLM calls per item (annotator + moderator on "
             "disagreements) and ~4 characters per token"]
    minutes = None
    if seconds:
        per_item = statistics.median(seconds)
        humans = ctx.policy.human_annotations + ctx.policy.double_annotation_share
        minutes = per_item * int(n_items) * humans / 60
        notes.append(f"human time from the median {per_item:.1f} s per item of "
                     f"{len(seconds)} timed answers")
    else:
        notes.append("no timed human answers yet: label a pilot in the UI to estimate people's "
                     "time")
    return Estimate(items=int(n_items), llm_calls=calls, prompt_tokens=prompt_tokens,
                    completion_tokens=out_tokens, cost_usd=cost, human_minutes=minutes,
                    notes=notes)
