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
HTML report, ``numbers.json``, ``policy.json`` and the record the UI reads. Here the pilot
runs; :mod:`annotate.pilot.measure` scores each model and finds its cheapest threshold,
:mod:`annotate.pilot.advice` turns the reports into the recommended policy and its reasons,
:mod:`annotate.pilot.cascade` searches the cascades.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from annotate.errors import InvalidInput
from annotate.pilot.advice import (
    MODERATOR_REASON,
    Recommendation,
    double_share,
    moderator_on,
    recommend,
)
from annotate.pilot.calibrate import CalibrationOutcome, fit_pilot_calibrators
from annotate.pilot.cascade import advise_cascade, with_cascade
from annotate.pilot.estimators import compare_estimators
from annotate.pilot.measure import (
    Choice,
    ModelReport,
    _true_labels,
    evaluation_frame,
    human_alpha,
    majority_baseline,
    model_report,
)
from annotate.pilot.metrics import Costs, human_error_rate
from annotate.pilot.options import THRESHOLDS, PilotOptions
from annotate.pilot.run import (
    ModelAnswer,
    ModelRun,
    Progress,
    Usage,
    ask_people,
    choose_sample,
    run_model,
)
from annotate.projects.catalog import get_project
from annotate.settings import DEFAULT_RESERVATION_TTL_S
from annotate.store.engine import Store
from annotate.store.models import Project

__all__ = ["MODERATOR_REASON", "THRESHOLDS", "Choice", "ModelAnswer", "ModelReport", "ModelRun",
           "PilotOptions", "PilotResult", "Recommendation", "Usage", "ask_people",
           "double_share", "evaluation_frame", "majority_baseline", "moderator_on",
           "run_pilot"]


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

