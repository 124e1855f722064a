"""The pilot compares confidence estimators (#18 item 3, first part): for each model, the
annotator answers the sample once per estimator, and each estimator's raw signal is scored
against the people's majority: ECE (raw, and after a calibrator fitted out of fold), the AUROC
of the confidence for telling right from wrong answers with its bootstrap interval, and
whether it carries information at all (the interval above 0.5).

``verbalized`` and ``logprob`` are read from the same answer (one call with token
log-probabilities: the greedy answer, and so the verbalized number, does not depend on
whether log-probabilities are returned); ``consistency`` samples k answers per item, each a
paid call. Every call goes through the gateway (ledger, cache, budget)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import select

from annotate.agreement.calibration import (
    MIN_CALIBRATION_ANSWERS,
    expected_calibration_error,
    fit_calibrator,
)
from annotate.kinds.registry import get_kind
from annotate.pilot.calibrate import calibration_pairs
from annotate.pilot.metrics import auroc, bootstrap_auroc
from annotate.pilot.run import ModelAnswer, _last_call_id, pilot_usage
from annotate.settings import DEFAULT_RESERVATION_TTL_S
from annotate.store.engine import Store
from annotate.store.models import Item

ESTIMATORS = ("verbalized", "logprob", "consistency")
NO_INFORMATION = "its confidence carries no information about right and wrong answers"


@dataclass(frozen=True)
class EstimatorScore:
    model: str
    estimator: str
    answers: int  # valid answers with a signal, on items with a people's majority
    accuracy: float | None
    ece: float | None  # of the raw signal
    ece_calibrated: float | None  # out of fold, after a calibrator like --calibrate fits
    auroc: float | None
    auroc_ci: tuple[float | None, float | None]
    cost_usd: float  # what this estimator's calls cost in this run (cache hits are free)
    calls: int

    @property
    def informative(self) -> bool:
        return self.auroc_ci[0] is not None and self.auroc_ci[0] > 0.5

    def verdict(self) -> str:
        if self.auroc is None:
            return "AUROC undefined (all answers right, or all wrong)"
        if not self.informative:
            return f"{NO_INFORMATION} (AUROC {self.auroc:.2f}, interval reaches 0.5)"
        return f"separates right from wrong (AUROC {self.auroc:.2f})"

    def as_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "informative": self.informative,
                "verdict": self.verdict()}


def score_estimator(model: str, estimator: str, answers: Sequence[ModelAnswer],
                    humans: pd.DataFrame, n_resamples: int, seed: int = 0,
                    cost_usd: float = 0.0, calls: int = 0) -> EstimatorScore:
    """One estimator's numbers from answers whose ``confidence_raw`` is its signal."""
    raw, right = calibration_pairs(humans, answers)
    calibrated = (fit_calibrator(raw, right, seed=seed).ece_calibrated
                  if len(raw) >= MIN_CALIBRATION_ANSWERS else None)
    return EstimatorScore(
        model=model, estimator=estimator, answers=len(raw),
        accuracy=sum(right) / len(right) if right else None,
        ece=expected_calibration_error(raw, right) if raw else None,
        ece_calibrated=calibrated, auroc=auroc(raw, right),
        auroc_ci=bootstrap_auroc(raw, right, n_resamples, seed), cost_usd=cost_usd,
        calls=calls)


def compare_estimators(store: Store, project_name: str, item_ids: Sequence[int],
                       humans: pd.DataFrame, model: str, estimators: Sequence[str], *,
                       n_resamples: int = 1000, seed: int = 0,
                       reservation_ttl_s: float = DEFAULT_RESERVATION_TTL_S,
                       ) -> list[EstimatorScore]:
    """Each estimator's score for ``model`` on the sampled items (stores no annotation)."""
    from annotate.llm.client import make_client
    from roles.base import ProjectContext, RoleContext

    unknown = [e for e in estimators if e not in ESTIMATORS]
    if unknown:
        raise ValueError(f"unknown estimator {unknown[0]!r}; known: {', '.join(ESTIMATORS)}")
    context = ProjectContext.load(store, project_name)
    llm = make_client(store, context.project_id, model, reservation_ttl_s=reservation_ttl_s)
    items = _items(store, item_ids)
    runs: dict[str, list[ModelAnswer]] = {}
    spent: dict[str, tuple[float, int]] = {}
    greedy = [e for e in estimators if e in ("verbalized", "logprob")]
    passes = (["logprob"] if greedy else []) + (
        ["consistency"] if "consistency" in estimators else [])
    for used in passes:
        policy = context.policy.model_copy(update={"confidence": used,
                                                   "confidence_by_model": {}})
        ctx = RoleContext(store=store, llm=llm, model=model, worker_id="pilot",
                          project=dataclasses.replace(context, policy=policy))
        before = _last_call_id(store, context.project_id)
        answers = [_answer(ctx, item) for item in items]
        usage = pilot_usage(store, context.project_id, before)
        names = greedy if used == "logprob" else ["consistency"]
        for name in names:
            runs[name] = [a[name] for a in answers]
            spent[name] = (usage.cost_usd / len(names), usage.calls)
    return [score_estimator(model, e, runs[e], humans, n_resamples, seed, *spent[e])
            for e in estimators]


def _items(store: Store, item_ids: Sequence[int]) -> list[tuple[str, str, dict[str, Any],
                                                                dict[str, Any]]]:
    with store.session() as session:
        rows = session.execute(select(Item.id, Item.external_id, Item.text, Item.data,
                                      Item.meta).where(Item.id.in_(list(item_ids)))).all()
    by_id = {r.id: (str(r.external_id), r.text, dict(r.data or {}), dict(r.meta or {}))
             for r in rows}
    return [by_id[i] for i in item_ids]


def _answer(ctx: Any, item: tuple[str, str, dict[str, Any], dict[str, Any]],
            ) -> dict[str, ModelAnswer]:
    """One item's answer, as each estimator read from this pass sees it."""
    from roles.annotator import Labelled, label_text
    from roles.base import Attempt, RoleFailure
    from roles.confidence import verbalized

    external_id, text, data, meta = item
    result = label_text(ctx, text, data, meta, Attempt(role="annotator"))
    if isinstance(result, RoleFailure):
        failed = ModelAnswer(external_id, None, None, f"{result.kind}: {result.message}")
        return {"verbalized": failed, "logprob": failed, "consistency": failed}
    kind = get_kind(ctx.project.schema.kind)
    label = kind.label(result.value)
    out = {name: ModelAnswer(external_id, label, None, None, None, name)  # no signal
           for name in ESTIMATORS}
    out[result.estimator] = ModelAnswer(external_id, label, result.confidence, None,
                                        result.confidence_raw, result.estimator)
    if isinstance(result, Labelled) and isinstance(result.completion.data, dict):
        said = verbalized(result.completion.data)
        out["verbalized"] = ModelAnswer(external_id, label, said, None, said, "verbalized")
    return out
