"""`annotate pilot`: can the LLM do this task, and at what cost of error?

On a seeded sample of items that people have labelled, each model's annotator role answers
(outside the queue: nothing is stored as a label; its calls are on the ledger). Per model:
Krippendorff's alpha between the model and the people, accuracy against the people's
majority with a bootstrap CI, accuracy@coverage over confidence thresholds, calibration
(reliability bins and ECE), invalid outputs, cost and time per 1,000 items.

From the cost of one wrong final label (``error_cost``) and of one human label
(``human_cost``) it recommends a routing policy: the LLM alone at or above a confidence
threshold, people below it (``RoutingPolicy.human_below_confidence``). The threshold ``t``
minimises the expected cost per item::

    coverage(t) * (1 - acc(t)) * error_cost
    + (1 - coverage(t)) * (human_cost + human_error_rate * error_cost) + llm_cost_per_item

where coverage counts failed calls as routed to people (as the routing does), and
``human_error_rate`` is the share of human labels that differ from the majority of the
*other* people on the same item (leave-one-out; items with a tie among the others are
skipped). Ties in cost go to the higher threshold (more people where the sample cannot tell).
With per-label error costs (``Costs.label_costs``) a wrong label costs the error cost of the
item's true label, and a person's errors the mean of those over the sample.

No threshold is recommended for a model that cannot do the task (:func:`skill_gate`): it
must beat always answering the most common label on the same items (paired bootstrap
interval above 0) and its confidence must separate its right answers from its wrong ones
(bootstrap AUROC interval above 0.5). Otherwise the routing is people only and the report
says "this model cannot do this task", whatever the costs.

The result is plain data (:class:`PilotResult`); :mod:`annotate.pilot.report` writes the
HTML report, ``numbers.json``, ``policy.json`` and the record the UI reads.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from annotate.agreement.bootstrap import bootstrap_mean
from annotate.agreement.calibration import expected_calibration_error, reliability_bins
from annotate.errors import InvalidInput
from annotate.llm.types import INVALID_KINDS as LLM_INVALID_KINDS
from annotate.pilot.calibrate import CalibrationOutcome, fit_pilot_calibrators
from annotate.pilot.cascade import advise_cascade, with_cascade
from annotate.pilot.estimators import compare_estimators
from annotate.pilot.metrics import (
    Costs,
    CoveragePoint,
    HumanErrorRate,
    Skill,
    best_point,
    coverage_curve,
    human_error_rate,
    people_cost,
    skill_gate,
)
from annotate.pilot.run import (
    ModelAnswer,
    ModelRun,
    Progress,
    Usage,
    ask_people,
    choose_sample,
    run_model,
)
from annotate.projects.catalog import get_project, project_policy
from annotate.projects.policy import RoutingPolicy
from annotate.settings import DEFAULT_MODEL, DEFAULT_RESERVATION_TTL_S
from annotate.store.engine import Store
from annotate.store.models import Project

THRESHOLDS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
INVALID_KINDS = LLM_INVALID_KINDS | {"invalid_value"}  # + a parsed value out of the schema
__all__ = ["ModelAnswer", "ModelRun", "PilotOptions", "PilotResult", "Usage", "ask_people",
           "run_pilot"]


@dataclass(frozen=True)
class PilotOptions:
    costs: Costs
    models: tuple[str, ...] = (DEFAULT_MODEL,)
    sample: int = 50
    seed: int = 0
    thresholds: tuple[float, ...] = THRESHOLDS
    bootstrap: int = 1000
    bins: int = 10
    calibrate: bool = False  # fit and store a calibrator per model on the sample
    estimators: tuple[str, ...] = ()  # compare these confidence estimators per model
    stage_costs: dict[str, float] = field(default_factory=dict)  # model -> USD per item


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


# -- the recommendation ---------------------------------------------------------------------

ALPHA_RELIABLE = 0.667  # Krippendorff's lowest alpha for tentative conclusions


@dataclass(frozen=True)
class Recommendation:
    model: str | None  # None: people only
    choice: Choice
    policy: dict[str, Any]
    people_only: Choice
    llm_only: Choice | None
    reasons: list[str]


def recommend(project: Project, reports: Sequence[ModelReport], costs: Costs,
              human_error: HumanErrorRate, humans_alpha: float | None,
              true_labels: Sequence[str] = ()) -> Recommendation:
    """The cheapest routing of a model that can do the task, written as a full policy for
    `annotate policy set`; people only when no model passes the skill gate."""
    rate = human_error.rate or 0.0
    people = Choice(None, 0.0, people_cost(costs, rate, true_labels), 1 - rate)
    able = [r for r in reports if r.skill.can_do_task]
    best = min(able, key=lambda r: r.best.expected_cost) if able else None
    share, why_share = double_share(human_error, humans_alpha)
    base = project_policy(project)
    reasons = [why_share]
    if best is None or best.best.threshold is None:
        policy = base.model_copy(update={
            "human_annotations": max(1, base.human_annotations), "llm_annotations": 0,
            "human_below_confidence": None, "double_annotation_share": share})
        reasons[:0] = [_people_only_reason(reports, best), *_unable(reports)]
        shown = best or (min(reports, key=lambda r: r.llm_only.expected_cost)
                         if reports else None)
        return Recommendation(None, people, _checked(policy), people,
                              shown.llm_only if shown else None, reasons)
    moderator, why_moderator = moderator_on(best, rate)
    if best.best.coverage >= 1.0:  # nobody labels anything: there is nothing to double
        share, why_share = 0.0, (
            "no double annotation: this routing sends no item to people (only failed calls), "
            "so their error rate stays unmeasured; rerun the pilot on new human labels to "
            "check the threshold")
        reasons = [why_share]
    policy = base.model_copy(update={
        "human_annotations": 1, "llm_annotations": max(1, base.llm_annotations),
        "helper_first": False, "human_below_confidence": best.best.threshold,
        "double_annotation_share": share, "moderator_on_disagreement": moderator})
    reasons.insert(0, f"{best.model}: LLM alone at confidence >= {best.best.threshold:g} "
                      f"({best.best.coverage:.0%} of items), people below it and on failures")
    reasons.append(why_moderator)
    return Recommendation(best.model, best.best, _checked(policy), people, best.llm_only,
                          reasons)


def _people_only_reason(reports: Sequence[ModelReport], best: ModelReport | None) -> str:
    if not reports:
        return "people only: no model was tried"
    if best is None:
        names = ", ".join(r.model for r in reports)
        return (f"people only: this model cannot do this task ({names})" if len(reports) == 1
                else f"people only: none of these models can do this task ({names})")
    return "people only: no model's routing is cheaper than people alone"


def _unable(reports: Sequence[ModelReport]) -> list[str]:
    """Why each model failed the skill gate, in plain words."""
    return [f"{r.model} cannot do this task: {'; '.join(r.skill.reasons)}"
            for r in reports if not r.skill.can_do_task]


def double_share(human_error: HumanErrorRate, humans_alpha: float | None) -> tuple[float, str]:
    """Extra human annotation: to measure people's error rate when unknown, more of it when
    people agree poorly, a little otherwise to keep the threshold calibrated."""
    if human_error.rate is None:
        return 0.1, ("no sampled item has two human labels: people's error rate is unmeasured "
                     "(taken as 0); double annotation on 10% of the items people label "
                     "measures it")
    if humans_alpha is not None and humans_alpha < ALPHA_RELIABLE:
        return 0.2, (f"people agree poorly (alpha {humans_alpha:.2f} < {ALPHA_RELIABLE}): "
                     "double annotation on 20% of the items people label")
    return 0.05, ("double annotation on 5% of the items people label keeps their error rate "
                  "measured")


MODERATOR_REASON = ("moderator on:", "moderator off:")  # how moderator_on's reasons begin


def moderator_on(report: ModelReport, human_error: float,
                 threshold: float | None = None) -> tuple[bool, str]:
    """On routed items the LLM's unsure answer meets a person's. The LLM moderator settles
    their disagreements only when the LLM is, below the threshold (``threshold``, default
    the model's recommended one; a cascade's last stage gives its own), as accurate as a
    person; otherwise a person adjudicates (the person's answer is the likelier right one)."""
    threshold = (report.best.threshold if threshold is None else threshold) or 0.0
    below = [p for p in report.coverage if p.threshold == 0.0]
    at = [p for p in report.coverage if p.threshold == threshold]
    if not below or not at or below[0].n == at[0].n:
        return True, "moderator on: no valid LLM answer falls below the threshold in the sample"
    all_n, all_acc, at_n = below[0].n, below[0].accuracy or 0.0, at[0].n
    acc_below = (all_n * all_acc - at_n * (at[0].accuracy or 0.0)) / (all_n - at_n)
    if acc_below >= 1 - human_error:
        return True, (f"moderator on: below the threshold the LLM is right {acc_below:.0%}, "
                      f"as often as a person ({1 - human_error:.0%})")
    return False, (f"moderator off: below the threshold the LLM is right only {acc_below:.0%} "
                   f"vs {1 - human_error:.0%} for a person, so a person settles disagreements")


def _checked(policy: RoutingPolicy) -> dict[str, Any]:
    return RoutingPolicy.model_validate(policy.model_dump()).model_dump(mode="json")


# -- the whole pilot ------------------------------------------------------------------------


@dataclass(frozen=True)
class PilotResult:
    project: str
    kind: str
    created: str
    costs: Costs
    sample: dict[str, Any]
    humans: dict[str, Any]
    models: list[ModelReport]
    recommendation: Recommendation
    notes: list[str]
    calibration: list[dict[str, Any]] = field(default_factory=list)
    estimators: list[dict[str, Any]] = field(default_factory=list)
    cascade: dict[str, Any] = field(default_factory=dict)  # annotate.pilot.cascade

    def as_json(self) -> dict[str, Any]:
        from annotate.agreement.serialize import to_jsonable

        data: dict[str, Any] = to_jsonable(self)
        return data


def _check_label_costs(project: Project, costs: Costs) -> None:
    from annotate.projects.catalog import project_schema

    schema = project_schema(project)
    labels = [str(x) for x in (schema.labels or schema.choices() or [])]
    unknown = [k for k in costs.label_costs if k not in labels]
    if unknown:
        raise InvalidInput(f"--error-cost {unknown[0]}=...: project {project.name!r} has no label "
                           f"{unknown[0]!r} (its labels: {', '.join(labels)})")


def run_pilot(store: Store, name: str, options: PilotOptions,
              on_progress: Progress | None = None,
              reservation_ttl_s: float = DEFAULT_RESERVATION_TTL_S) -> PilotResult:
    """Sample, run every model, measure, recommend. Stores no annotation."""
    if not options.models:
        raise InvalidInput("no model given: --models m1,m2")
    with store.session() as session:
        project = get_project(session, name)
        _check_label_costs(project, options.costs)
        sample = choose_sample(session, project, options.sample, options.seed)
        session.expunge(project)
    runs = [run_model(store, project, sample.item_ids, m, on_progress, reservation_ttl_s)
            for m in options.models]
    error = human_error_rate(sample.humans)
    alpha = human_alpha(sample.humans, options.bootstrap, options.seed)
    reports = [model_report(r, sample.humans, options.costs, error.rate or 0.0, options)
               for r in runs]
    notes = []
    if sample.available < options.sample:
        notes.append(f"only {sample.available} items have a human label (asked for "
                     f"{options.sample}): `--ask-people` queues more for people")
    if error.rate is None:
        notes.append("no sampled item has two human labels: people's error rate is taken as 0, "
                     "so the people-only cost is a lower bound")
    baseline = majority_baseline(sample.humans)
    if baseline is not None:
        notes.append(f"the most common label ({baseline[0]}) alone matches the people's majority "
                     f"on {baseline[1]:.0%} of the items: compare accuracy with that; alpha "
                     "corrects for chance")
    notes.append("accuracy is measured against the people's majority, itself not always right")
    estimators = []
    for model in options.models if options.estimators else ():
        scores = compare_estimators(store, project.name, sample.item_ids, sample.humans,
                                    model, options.estimators, n_resamples=options.bootstrap,
                                    seed=options.seed, reservation_ttl_s=reservation_ttl_s)
        estimators += [s.as_json() for s in scores]
        notes += [f"{model}, {s.estimator} confidence: {s.verdict()}" for s in scores]
    calibration = []
    if options.calibrate:
        outcomes = fit_pilot_calibrators(store, project.id, runs, sample.humans, options.seed)
        notes += [o.line() for o in outcomes]
        calibration = [_calibration_json(o) for o in outcomes]
    if options.costs.label_costs:
        notes.append("an error costs " + ", ".join(
            f"{v:g} on an item that is {k}" for k, v in options.costs.label_costs.items())
            + f", {options.costs.error_cost:g} on any other")
    advice = advise_cascade(reports, options.costs, error.rate or 0.0, options.thresholds,
                            {r.model: _estimator_of(r) for r in runs}, options.stage_costs)
    notes += advice.lines()
    return PilotResult(
        project=project.name, kind=project.kind,
        created=datetime.now(UTC).isoformat(timespec="seconds"), costs=options.costs,
        sample={"items": len(sample.item_ids), "asked": options.sample, "seed": options.seed,
                "available": sample.available, "human_labels": len(sample.humans),
                "thresholds": list(options.thresholds), "bootstrap": options.bootstrap},
        humans={**alpha, "error_rate": error.rate, "error_comparisons": error.comparisons,
                "error_estimator": error.estimator,
                "majority_label_share": baseline[1] if baseline else None},
        models=reports,
        recommendation=with_cascade(recommend(project, reports, options.costs, error,
                                              alpha["alpha"], _true_labels(sample.humans)),
                                    advice, reports, error.rate or 0.0),
        notes=notes, calibration=calibration, estimators=estimators, cascade=advice.as_json())


def _estimator_of(run: ModelRun) -> str:
    return next((a.estimator for a in run.answers if a.estimator), "verbalized")


def _calibration_json(outcome: CalibrationOutcome) -> dict[str, Any]:
    found = outcome.calibrator
    if found is None:
        return {"model": outcome.model, "estimator": outcome.estimator, "calibrator": None,
                "reason": outcome.reason}
    return {"model": outcome.model, "estimator": outcome.estimator, "calibrator": found.id,
            "method": found.fitted.method, "n": found.fitted.n,
            "guideline_version": found.guideline_version, "ece_raw": found.fitted.ece_raw,
            "ece_calibrated_out_of_fold": found.fitted.ece_calibrated}

