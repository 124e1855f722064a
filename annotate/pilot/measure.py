"""One model against the people on the pilot's sample: its answers scored against the
people's majority, alpha, calibration, accuracy@coverage, and its cheapest threshold
(:func:`annotate.pilot.metrics.best_point`, people only when the skill gate fails)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from annotate.agreement.bootstrap import bootstrap_mean
from annotate.agreement.calibration import expected_calibration_error, reliability_bins
from annotate.llm.types import INVALID_KINDS as LLM_INVALID_KINDS
from annotate.pilot.metrics import (
    Costs,
    CoveragePoint,
    Skill,
    best_point,
    coverage_curve,
    people_cost,
    skill_gate,
)
from annotate.pilot.options import PilotOptions
from annotate.pilot.run import ModelAnswer, ModelRun, Usage

INVALID_KINDS = LLM_INVALID_KINDS | {"invalid_value"}  # + a parsed value out of the schema


# -- the model against the people -----------------------------------------------------------


def evaluation_frame(humans: pd.DataFrame, answers: Sequence[ModelAnswer]) -> pd.DataFrame:
    """One row per sampled item with a unique human majority: ``item_id, human_label,
    llm_label, confidence`` (0 when missing, as the routing reads it), ``valid, correct``."""
    from annotate.agreement import majority_vote

    majority = majority_vote(humans).dropna(subset=["label"])
    truth = dict(zip(majority["item_id"].astype(str), majority["label"].astype(str),
                     strict=True))
    rows = [{"item_id": a.item_id, "human_label": truth[a.item_id], "llm_label": a.label,
             "confidence": a.confidence if a.confidence is not None else 0.0,
             "valid": a.label is not None, "correct": a.label == truth[a.item_id]}
            for a in answers if a.item_id in truth]
    return pd.DataFrame(rows, columns=["item_id", "human_label", "llm_label", "confidence",
                                       "valid", "correct"])


def _true_labels(humans: pd.DataFrame) -> list[str]:
    from annotate.agreement import majority_vote

    return [str(x) for x in majority_vote(humans).dropna(subset=["label"])["label"]]


def majority_baseline(humans: pd.DataFrame) -> tuple[str, float] | None:
    """The most common human-majority label and the share of items it is."""
    from annotate.agreement import majority_vote

    labels = majority_vote(humans).dropna(subset=["label"])["label"].astype(str)
    if labels.empty:
        return None
    counts = labels.value_counts(normalize=True)
    return str(counts.index[0]), float(counts.iloc[0])


# -- one model's report ---------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """The cheapest routing for one model: LLM alone at or above ``threshold``, people below
    (``threshold`` None: people only)."""

    threshold: float | None
    coverage: float
    expected_cost: float
    expected_accuracy: float


@dataclass(frozen=True)
class ModelReport:
    model: str
    items: int
    evaluable: int  # sampled items with a unique human majority
    valid: int
    invalid: int  # the model answered, unusably (bad JSON, out-of-schema value, cut off)
    errors: int  # no answer came back (timeouts, rate limits, connection)
    invalid_rate: float
    accuracy: float | None  # valid answers matching the human majority
    accuracy_ci: tuple[float | None, float | None]
    alpha: float | None  # human-LLM Krippendorff's alpha (nominal)
    alpha_ci: tuple[float | None, float | None]
    alpha_note: str | None
    ece: float | None
    reliability: list[dict[str, float]]
    coverage: list[CoveragePoint]
    llm_cost_per_item: float
    cost_per_1000: float  # USD, cache hits priced at their original call
    seconds_per_1000: float  # wall time of this run's calls
    model_seconds_per_1000: float  # the model's own time, cache hits at their original call
    usage: Usage
    llm_only: Choice
    best: Choice  # the cheapest routing the skill gate allows (people only when it fails)
    cheapest: Choice  # the cheapest routing by cost alone, before the skill gate
    skill: Skill
    failures: list[str] = field(default_factory=list)  # a few messages, for the report
    answers: list[dict[str, Any]] = field(default_factory=list)  # per item, vs people


def model_report(run: ModelRun, humans: pd.DataFrame, costs: Costs, human_error: float,
                 options: PilotOptions) -> ModelReport:
    evals = evaluation_frame(humans, run.answers)
    n = max(len(run.answers), 1)
    kinds = Counter(a.error_kind for a in run.answers if a.error)
    invalid = sum(v for k, v in kinds.items() if k in INVALID_KINDS)
    llm_cost = run.usage.cost_usd_uncached / n
    valid = evals[evals["valid"]]
    alpha, alpha_ci, alpha_note = human_llm_alpha(humans, run, options)
    points = coverage_curve(evals, options.thresholds, costs, human_error, llm_cost)
    best = best_point(points)
    all_right = float(evals["correct"].mean()) if len(evals) else 0.0  # failures count wrong
    wrong_cost = (sum(costs.error_cost_of(t) for t in evals.loc[~evals["correct"].astype(bool),
                                                                "human_label"]) / len(evals)
                  if len(evals) else 0.0)
    people = people_cost(costs, human_error, evals["human_label"])
    people_only = Choice(None, 0.0, people, 1 - human_error)
    cheapest = Choice(best.threshold, best.coverage, best.expected_cost, best.expected_accuracy)
    if people <= best.expected_cost + 1e-12:  # a tie needs no LLM calls
        cheapest = people_only
    baseline = majority_baseline(humans)
    skill = skill_gate(evals, baseline[0] if baseline else None, options.bootstrap,
                       options.seed)
    return ModelReport(
        model=run.model, items=len(run.answers), evaluable=len(evals), valid=len(valid),
        invalid=invalid, errors=sum(kinds.values()) - invalid, invalid_rate=invalid / n,
        accuracy=float(valid["correct"].mean()) if len(valid) else None,
        accuracy_ci=bootstrap_mean(valid["correct"].to_numpy(), options.bootstrap,
                                   options.seed),
        alpha=alpha, alpha_ci=alpha_ci, alpha_note=alpha_note,
        ece=expected_calibration_error(valid["confidence"], valid["correct"], options.bins),
        reliability=[{str(k): int(v) if k == "n" else float(v) for k, v in row.items()}
                     for row in reliability_bins(
            valid["confidence"], valid["correct"], options.bins).to_dict(orient="records")],
        coverage=points, llm_cost_per_item=llm_cost, cost_per_1000=1000 * llm_cost,
        seconds_per_1000=1000 * run.seconds / n,
        model_seconds_per_1000=1000 * run.usage.latency_s_uncached / n, usage=run.usage,
        llm_only=Choice(0.0, 1.0, wrong_cost + llm_cost, all_right),
        best=cheapest if skill.can_do_task else people_only, cheapest=cheapest, skill=skill,
        failures=[a.error for a in run.answers if a.error][:5],
        answers=[{str(k): v for k, v in row.items()} for row in evals.to_dict("records")])


def human_llm_alpha(humans: pd.DataFrame, run: ModelRun, options: PilotOptions
                    ) -> tuple[float | None, tuple[float | None, float | None], str | None]:
    """Alpha over (person, model) label pairs on the same item, with its bootstrap CI."""
    from annotate.agreement import group_agreement

    llm = pd.DataFrame([{"item_id": a.item_id, "annotator": f"llm:{run.model}",
                         "annotator_kind": "llm", "label": a.label}
                        for a in run.answers if a.label is not None],
                       columns=["item_id", "annotator", "annotator_kind", "label"])
    if llm.empty or humans.empty:
        return None, (None, None), "no valid model answers"
    groups = {g.group: g for g in group_agreement(pd.concat([humans, llm]),
                                                  bootstrap=options.bootstrap,
                                                  seed=options.seed)}
    pair = groups["human-llm"]
    ci = (pair.ci.low, pair.ci.high) if pair.ci is not None else (None, None)
    return pair.alpha, ci, pair.reason


def human_alpha(humans: pd.DataFrame, bootstrap: int, seed: int) -> dict[str, Any]:
    from annotate.agreement import krippendorff_alpha

    result = krippendorff_alpha(humans, bootstrap=bootstrap, seed=seed)
    ci = result.ci
    return {"alpha": result.value, "ci": [ci.low, ci.high] if ci is not None else None,
            "note": result.reason, "pairable_items": result.n_pairable_items}

