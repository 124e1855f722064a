"""``annotate pilot --calibrate``: fit a calibrator per model (and its estimator) on the
pilot's labelled sample and store it with the project under the current guideline version,
so every later answer of that model gets a calibrated ``confidence`` (``confidence_raw``
keeps the estimator's signal). A model's answer is right when it equals the people's
majority; failed answers are left out (they go to people whatever their confidence)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.orm import Session

from annotate.agreement.calibration import MIN_CALIBRATION_ANSWERS, fit_calibrator
from annotate.pilot.run import ModelAnswer, ModelRun
from annotate.projects.calibrators import (
    StoredCalibrator,
    project_calibrators,
    save_calibrator,
)
from annotate.projects.catalog import current_guideline
from annotate.store.engine import Store
from annotate.store.models import Project


@dataclass(frozen=True)
class CalibrationOutcome:
    """What ``--calibrate`` did for one model: the stored calibrator, or why there is none."""

    model: str
    estimator: str | None
    calibrator: StoredCalibrator | None
    reason: str | None = None

    def line(self) -> str:
        if self.calibrator is not None:
            return f"calibrator fitted: {self.calibrator.describe()}"
        return f"no calibrator for {self.model}: {self.reason}"


def calibration_pairs(humans: pd.DataFrame,
                      answers: Sequence[ModelAnswer]) -> tuple[list[float], list[bool]]:
    """(raw confidence, answer equals the people's unique majority) for every valid answer
    with a raw signal."""
    from annotate.agreement import majority_vote

    majority = majority_vote(humans).dropna(subset=["label"])
    truth = dict(zip(majority["item_id"].astype(str), majority["label"].astype(str),
                     strict=True))
    pairs = [(a.confidence_raw, a.label == truth[a.item_id]) for a in answers
             if a.item_id in truth and a.label is not None and a.confidence_raw is not None]
    return [float(c) for c, _ in pairs], [bool(r) for _, r in pairs]


def fit_pilot_calibrators(store: Store, project_id: int, runs: Sequence[ModelRun],
                          humans: pd.DataFrame, seed: int = 0) -> list[CalibrationOutcome]:
    """One calibrator per model run, stored under the project's current guideline version."""
    outcomes = []
    for run in runs:
        estimators = {a.estimator for a in run.answers if a.estimator is not None}
        if len(estimators) != 1:
            outcomes.append(CalibrationOutcome(run.model, None, None, (
                "its answers carry no confidence estimator" if not estimators
                else f"its answers mix estimators ({', '.join(sorted(estimators))})")))
            continue
        estimator = estimators.pop()
        raw, right = calibration_pairs(humans, run.answers)
        if len(raw) < MIN_CALIBRATION_ANSWERS:
            outcomes.append(CalibrationOutcome(run.model, estimator, None, (
                f"{len(raw)} valid answers with a {estimator} confidence on items with a "
                f"people's majority; at least {MIN_CALIBRATION_ANSWERS} are needed")))
            continue
        fitted = fit_calibrator(raw, right, seed=seed)
        with store.session() as session:
            project = session.get(Project, project_id)
            assert project is not None
            version = current_guideline(session, project).version
            stored = save_calibrator(session, project_id, run.model, estimator, version, fitted)
        outcomes.append(CalibrationOutcome(run.model, estimator, stored))
    return outcomes


def calibration_lines(session: Session, project: Project) -> list[str]:
    """Which calibrators apply to the project's answers now (``policy show``)."""
    version = current_guideline(session, project).version
    found = project_calibrators(session, project.id, version)
    if not found:
        return [f"calibration: none for guideline version {version} (confidence is the "
                "estimator's raw signal; `annotate pilot NAME --calibrate` fits one)"]
    return [f"calibration (guideline version {version}): {c.describe()}" for c in found]
