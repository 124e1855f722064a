"""Calibrators stored with the project: one row per fit, keyed by model, estimator and
guideline version (a new guideline version has no calibrator until the pilot refits); the
newest row of a key applies to every later answer. Applying one is plain arithmetic (no
numpy, no scikit-learn: the annotator's first call of a run looks one up); fitting is
:func:`annotate.agreement.calibration.fit_calibrator`."""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.store.models import Calibrator

CalibrationMethod = Literal["isotonic", "platt"]


@dataclass(frozen=True)
class FittedCalibrator:
    """A fitted map, stored as plain numbers (no pickles): isotonic breakpoints
    (``x``, ``y``, interpolated linearly and flat beyond the ends) or Platt's logistic
    ``1 / (1 + exp(-(a * raw + b)))``."""

    method: CalibrationMethod
    params: dict[str, Any]
    n: int
    ece_raw: float | None
    ece_calibrated: float | None  # out of fold (cross-validated), never on the fitting answers

    def apply(self, raw: float) -> float:
        if self.method == "isotonic":
            value = _interpolate(raw, self.params["x"], self.params["y"])
        else:
            z = self.params["a"] * raw + self.params["b"]
            value = 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0
        return max(0.0, min(1.0, float(value)))


def _interpolate(x: float, xs: list[float], ys: list[float]) -> float:
    """``numpy.interp`` for one point: linear between breakpoints, flat beyond the ends."""
    if x <= xs[0]:
        return ys[0]
    if x >= xs[-1]:
        return ys[-1]
    right = bisect.bisect_right(xs, x)
    x0, x1, y0, y1 = xs[right - 1], xs[right], ys[right - 1], ys[right]
    return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)


@dataclass(frozen=True)
class StoredCalibrator:
    id: int
    model: str
    estimator: str
    guideline_version: str
    fitted: FittedCalibrator

    def describe(self) -> str:
        """One line for ``policy show`` and reports."""
        ece = self.fitted
        shown = (f", ECE {ece.ece_raw:.3f} raw -> {ece.ece_calibrated:.3f} calibrated "
                 "(out of fold)"
                 if ece.ece_raw is not None and ece.ece_calibrated is not None else "")
        return (f"{self.model} / {self.estimator}: {ece.method} #{self.id} on {ece.n} "
                f"labelled answers{shown}")


def save_calibrator(session: Session, project_id: int, model: str, estimator: str,
                    guideline_version: str, fitted: FittedCalibrator) -> StoredCalibrator:
    row = Calibrator(project_id=project_id, model=model, estimator=estimator,
                     guideline_version=guideline_version, method=fitted.method,
                     params=fitted.params, n=fitted.n, ece_raw=fitted.ece_raw,
                     ece_calibrated=fitted.ece_calibrated)
    session.add(row)
    session.flush()
    return _stored(row)


def find_calibrator(session: Session, project_id: int, model: str, estimator: str,
                    guideline_version: str) -> StoredCalibrator | None:
    """The newest calibrator of this key, or None (the raw signal is the confidence)."""
    row = session.scalars(
        select(Calibrator).where(
            Calibrator.project_id == project_id, Calibrator.model == model,
            Calibrator.estimator == estimator,
            Calibrator.guideline_version == guideline_version)
        .order_by(Calibrator.id.desc()).limit(1)).first()
    return _stored(row) if row is not None else None


def project_calibrators(session: Session, project_id: int,
                        guideline_version: str) -> list[StoredCalibrator]:
    """The calibrators that apply under ``guideline_version`` (newest per model and
    estimator)."""
    rows = session.scalars(
        select(Calibrator).where(Calibrator.project_id == project_id,
                                 Calibrator.guideline_version == guideline_version)
        .order_by(Calibrator.id.desc())).all()
    newest: dict[tuple[str, str], StoredCalibrator] = {}
    for row in rows:
        newest.setdefault((row.model, row.estimator), _stored(row))
    return sorted(newest.values(), key=lambda c: (c.model, c.estimator))


def _stored(row: Calibrator) -> StoredCalibrator:
    method: CalibrationMethod = "platt" if row.method == "platt" else "isotonic"
    fitted = FittedCalibrator(method, dict(row.params), row.n, row.ece_raw, row.ece_calibrated)
    return StoredCalibrator(row.id, row.model, row.estimator, row.guideline_version, fitted)
