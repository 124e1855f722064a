"""The pilot recommends a cascade (#18 item 4): which of the tried models answer in turn, each
with its threshold, before people, at the lowest expected cost on the labelled sample.

Every model the pilot ran is a candidate stage, with its cost per item (from the ledger of
the pilot's own calls: a distilled model and the embedded one cost 0; ``--stage-cost
MODEL=USD`` overrides it) and its answers on the sampled items. A candidate whose confidence
carries no information (the AUROC interval of right vs wrong reaches 0.5) cannot route
anything and is dropped, as is one that does not beat always answering the most common label
(:func:`~annotate.pilot.metrics.skill_gate`); the report says so in plain words.

Over every ordered choice of up to :data:`MAX_STAGES` kept stages and every threshold of the
pilot's grid, an item goes to stage 1 (its cost is paid), stands when that stage's answer is
valid and at or above the threshold, else moves on; after the last stage people label it.
The expected cost per item on the sample is::

    sum of the stages' costs for the stages the item reached
    + error cost of its true label if the stage that decided it was wrong
    + (human cost + human error rate x error cost) if it reached people

the formula of :func:`~annotate.pilot.metrics.coverage_curve` applied stage by stage (one
stage is exactly the single-model routing). Ties go to fewer stages, then to higher
thresholds (more people where the sample cannot tell). A cascade is recommended only when it
costs less than the best single stage.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from annotate.pilot.metrics import Costs

if TYPE_CHECKING:
    from annotate.pilot.advice import Recommendation
    from annotate.pilot.measure import ModelReport

MAX_STAGES = 3
NO_INFORMATION = "its confidence carries no information about right and wrong answers"


@dataclass(frozen=True)
class Candidate:
    """One model as a possible stage: its cost per item and its answers on the sample."""

    model: str
    estimator: str
    cost_per_item: float
    answers: pd.DataFrame  # item_id, human_label, confidence, valid, correct
    kept: bool
    reason: str = ""  # why it was dropped


@dataclass(frozen=True)
class Plan:
    """One cascade (stages in order, each ``(model, threshold)``) and what it does."""

    stages: tuple[tuple[str, float], ...]
    expected_cost: float
    expected_accuracy: float
    human_share: float  # items that reach people
    decided: tuple[float, ...]  # share of items each stage decides

    def as_json(self) -> dict[str, Any]:
        return {"stages": [{"annotator": m, "threshold": t, "decides": d}
                           for (m, t), d in zip(self.stages, self.decided, strict=True)],
                "expected_cost": self.expected_cost,
                "expected_accuracy": self.expected_accuracy, "human_share": self.human_share}

    def describe(self) -> str:
        steps = [f"{m} at confidence >= {t:g} ({d:.0%} of items)"
                 for (m, t), d in zip(self.stages, self.decided, strict=True)]
        return ", then ".join(steps) + f", people on the rest ({self.human_share:.0%})"


@dataclass(frozen=True)
class CascadeAdvice:
    candidates: list[Candidate]
    best: Plan | None  # the cheapest plan over the kept stages (None: no stage kept)
    singles: list[Plan]  # the cheapest one-stage plan per kept model
    people_only: float  # expected cost per item with people alone
    items: int
    curves: list[dict[str, Any]] = field(default_factory=list)  # accuracy@coverage per stage

    @property
    def recommends_cascade(self) -> bool:
        """Two stages or more, cheaper than the best single stage and than people alone."""
        if self.best is None or len(self.best.stages) < 2:
            return False
        single = min((p.expected_cost for p in self.singles), default=float("inf"))
        return self.best.expected_cost < min(single, self.people_only) - 1e-12

    def lines(self) -> list[str]:
        """The advice in plain words (the CLI and the report print these)."""
        out = [f"{c.model} dropped as a cascade stage: {c.reason}"
               for c in self.candidates if not c.kept]
        if self.best is None:
            return [*out, "no cascade: no model's confidence can route items"]
        singles = "; ".join(f"{p.stages[0][0]} alone {p.expected_cost:.3f}" for p in self.singles)
        if self.recommends_cascade:
            out.append(f"the cascade costs {self.best.expected_cost:.3f} per item, less than "
                       f"any single stage ({singles}) and people only ({self.people_only:.3f})")
        else:
            out.append(f"no cascade: no chain of stages is cheaper than the best single one "
                       f"({singles}; people only {self.people_only:.3f})")
        return out

    def as_json(self) -> dict[str, Any]:
        return {"items": self.items, "people_only_cost": self.people_only,
                "recommends_cascade": self.recommends_cascade,
                "best": self.best.as_json() if self.best else None,
                "singles": [p.as_json() for p in self.singles],
                "candidates": [{"model": c.model, "estimator": c.estimator,
                                "cost_per_item": c.cost_per_item, "kept": c.kept,
                                "reason": c.reason} for c in self.candidates],
                "accuracy_at_coverage": self.curves, "lines": self.lines()}


def candidate(report: ModelReport, estimator: str | None,
              cost_per_item: float | None = None) -> Candidate:
    """``report``'s model as a stage; dropped when the skill gate says it cannot route."""
    skill = report.skill
    reason = ""
    low, high = skill.auroc_ci
    if skill.auroc is None and skill.accuracy is not None and skill.n:
        reason = (f"its confidence cannot be checked: {'no' if skill.accuracy >= 1 else 'only'}"
                  " wrong answers in the sample (AUROC undefined), so nothing shows that a "
                  "threshold keeps wrong answers out; a larger or harder sample can tell")
    elif not skill.confidence_separates:
        shown = (f" (AUROC {skill.auroc:.2f} [{low:.2f}, {high:.2f}], the interval reaches 0.5)"
                 if skill.auroc is not None and low is not None and high is not None
                 else " (no AUROC interval on this sample)")
        reason = NO_INFORMATION + shown
    elif not skill.beats_majority:
        reason = "it does not beat always answering the most common label"
    frame = pd.DataFrame(report.answers, columns=["item_id", "human_label", "llm_label",
                                                  "confidence", "valid", "correct"])
    cost = report.llm_cost_per_item if cost_per_item is None else cost_per_item
    return Candidate(report.model, estimator or "verbalized", cost, frame, not reason, reason)


@dataclass(frozen=True)
class _Sample:
    """The kept candidates' answers aligned on the items they all have."""

    error: npt.NDArray[np.float64]  # error cost of each item's true label
    person: npt.NDArray[np.float64]  # expected cost of a person labelling it
    confidence: dict[str, npt.NDArray[np.float64]]
    usable: dict[str, npt.NDArray[np.bool_]]  # valid answers
    correct: dict[str, npt.NDArray[np.bool_]]
    cost: dict[str, float]
    human_error: float


def _align(kept: Sequence[Candidate], costs: Costs, human_error: float) -> _Sample:
    common = set.intersection(*(set(c.answers["item_id"]) for c in kept))
    items = sorted(common)
    frames = {c.model: c.answers.drop_duplicates("item_id").set_index("item_id").loc[items]
              for c in kept}
    truth = frames[kept[0].model]["human_label"]
    error = np.array([costs.error_cost_of(t) for t in truth], dtype=float)
    return _Sample(
        error=error, person=costs.human_cost + human_error * error,
        confidence={m: f["confidence"].to_numpy(dtype=np.float64) for m, f in frames.items()},
        usable={m: f["valid"].to_numpy(dtype=np.bool_) for m, f in frames.items()},
        correct={m: f["correct"].to_numpy(dtype=np.bool_) for m, f in frames.items()},
        cost={c.model: c.cost_per_item for c in kept}, human_error=human_error)


def evaluate(sample: _Sample, stages: Sequence[tuple[str, float]]) -> Plan:
    """Send every sampled item down ``stages``, then to people; the plan's expected cost."""
    waiting = np.ones(len(sample.error), dtype=bool)
    cost = np.zeros(len(sample.error))
    right = np.zeros(len(sample.error))
    decided = []
    for model, threshold in stages:
        cost += waiting * sample.cost[model]
        take = waiting & sample.usable[model] & (sample.confidence[model] >= threshold)
        cost += take * ~sample.correct[model] * sample.error
        right += take * sample.correct[model]
        decided.append(float(take.mean()))
        waiting &= ~take
    cost += waiting * sample.person
    right += waiting * (1 - sample.human_error)
    return Plan(tuple(stages), float(cost.mean()), float(right.mean()), float(waiting.mean()),
                tuple(decided))


def _order(plan: Plan) -> tuple[float, int, float]:
    return (round(plan.expected_cost, 12), len(plan.stages), -sum(t for _, t in plan.stages))


def search(sample: _Sample, models: Sequence[str], thresholds: Sequence[float],
           max_stages: int = MAX_STAGES) -> list[Plan]:
    """Every ordered choice of up to ``max_stages`` models and thresholds (a stage before
    the last at threshold 0 would leave the later ones nothing: skipped), cheapest first."""
    plans = []
    for n in range(1, min(max_stages, len(models)) + 1):
        for chain in itertools.permutations(models, n):
            for cut in itertools.product(thresholds, repeat=n):
                if any(t <= 0 for t in cut[:-1]):
                    continue
                plans.append(evaluate(sample, list(zip(chain, cut, strict=True))))
    return sorted(plans, key=_order)


def advise_cascade(reports: Sequence[ModelReport], costs: Costs, human_error: float,
                   thresholds: Sequence[float], estimators: Mapping[str, str] | None = None,
                   stage_costs: Mapping[str, float] | None = None) -> CascadeAdvice:
    """The cheapest cascade over the pilot's models (see the module's docstring)."""
    estimators, stage_costs = estimators or {}, stage_costs or {}
    candidates = [candidate(r, estimators.get(r.model), stage_costs.get(r.model))
                  for r in reports]
    curves = [{"model": r.model, "estimator": estimators.get(r.model) or "verbalized",
               "threshold": p.threshold, "coverage": p.coverage, "accuracy": p.accuracy,
               "n": p.n} for r in reports for p in r.coverage]
    kept = [c for c in candidates if c.kept and len(c.answers)]
    everyone = reports[0].answers if reports else []
    labels = [a["human_label"] for a in everyone]
    people = (float(np.mean([costs.human_cost + human_error * costs.error_cost_of(t)
                             for t in labels])) if labels else costs.human_cost)
    if not kept:
        return CascadeAdvice(candidates, None, [], people, len(labels), curves)
    sample = _align(kept, costs, human_error)
    if not len(sample.error):
        return CascadeAdvice(candidates, None, [], people, 0, curves)
    plans = search(sample, [c.model for c in kept], sorted(set(thresholds)))
    singles = [min((p for p in plans if p.stages[0][0] == c.model and len(p.stages) == 1),
                   key=_order) for c in kept]
    return CascadeAdvice(candidates, plans[0], singles, people, len(sample.error), curves)


def with_cascade(recommendation: Recommendation, advice: CascadeAdvice,
                 reports: Sequence[ModelReport], human_error: float) -> Recommendation:
    """The pilot's recommendation with the cascade in its policy, when one is cheaper. People
    meet the last stage's unsure answers, so the moderator is decided on that stage below
    its threshold (:func:`~annotate.pilot.advice.moderator_on`)."""
    from dataclasses import replace

    from annotate.pilot.advice import MODERATOR_REASON, moderator_on

    if not advice.recommends_cascade or advice.best is None:
        return recommendation
    best = advice.best
    last_model, last_threshold = best.stages[-1]
    last = next(r for r in reports if r.model == last_model)
    moderator, why_moderator = moderator_on(last, human_error, last_threshold)
    policy = {**recommendation.policy, "human_annotations": max(
        1, int(recommendation.policy.get("human_annotations") or 1)), "llm_annotations": 1,
        "helper_first": False, "human_below_confidence": None,
        "moderator_on_disagreement": moderator,
        "cascade": [{"annotator": m, "threshold": t} for m, t in best.stages]}
    if best.human_share <= 0:
        policy["double_annotation_share"] = 0.0
    from annotate.projects.policy import RoutingPolicy

    checked = RoutingPolicy.model_validate(policy).model_dump(mode="json")
    choice = replace(recommendation.choice, threshold=None, coverage=1 - best.human_share,
                     expected_cost=best.expected_cost,
                     expected_accuracy=best.expected_accuracy)
    reasons = [f"cascade: {best.describe()}",
               *(r for r in recommendation.reasons[1:] if not r.startswith(MODERATOR_REASON)),
               f"{last_model} (the last stage): {why_moderator}"]
    if best.human_share <= 0:  # the base's double-annotation advice no longer applies
        reasons = [r for r in reasons if "double annotation" not in r] + [
            "no double annotation: this cascade sends no sampled item to people, so their "
            "error rate stays unmeasured; rerun the pilot on new human labels to check it"]
    return replace(recommendation, model=" -> ".join(m for m, _ in best.stages), choice=choice,
                   policy=checked, reasons=reasons)
