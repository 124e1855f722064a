"""Calibrators stored with the project: one row per fit, keyed by model, estimator and
guideline version (a new guideline version has no calibrator until the pilot refits); the
newest row of a key applies to every later answer."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.agreement.calibration import FittedCalibrator
from annotate.store.models import Calibrator


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
    fitted = FittedCalibrator(row.method, dict(row.params), row.n,  # type: ignore[arg-type]
                              row.ece_raw, row.ece_calibrated)
    return StoredCalibrator(row.id, row.model, row.estimator, row.guideline_version, fitted)
