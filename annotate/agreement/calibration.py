"""Calibration of confidences: reliability bins and the expected calibration error (ECE),
shared by the pilot and the distilled-model report, and calibrators (isotonic regression or
Platt scaling) that map an estimator's raw signal to the probability of a right answer.
Storing, finding and applying them per project is :mod:`annotate.projects.calibrators`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from annotate.projects.calibrators import CalibrationMethod, FittedCalibrator

Numbers = Sequence[float] | Sequence[bool] | npt.NDArray[Any] | pd.Series


def reliability_bins(confidence: Numbers, correct: Numbers,
                     bins: int = 10) -> pd.DataFrame:
    """Equal-width confidence bins [k/bins, (k+1)/bins) (the last one closed): items,
    mean confidence and accuracy in each non-empty bin."""
    conf = np.asarray(confidence, dtype=float)
    hit = np.asarray(correct, dtype=float)
    index = np.digitize(conf, np.arange(1, bins) / bins)
    rows = [{"bin_low": k / bins, "bin_high": (k + 1) / bins, "n": int((index == k).sum()),
             "confidence": float(conf[index == k].mean()),
             "accuracy": float(hit[index == k].mean())}
            for k in range(bins) if (index == k).any()]
    return pd.DataFrame(rows, columns=["bin_low", "bin_high", "n", "confidence", "accuracy"])


def expected_calibration_error(confidence: Numbers, correct: Numbers,
                               bins: int = 10) -> float | None:
    """ECE = sum over bins of (items in bin / items) * |accuracy - mean confidence|."""
    table = reliability_bins(confidence, correct, bins)
    if table.empty:
        return None
    weights = table["n"] / table["n"].sum()
    return float((weights * (table["accuracy"] - table["confidence"]).abs()).sum())


# -- calibrators: raw signal -> probability of a right answer --------------------------------

MIN_CALIBRATION_ANSWERS = 10
ISOTONIC_FROM = 100
"""Isotonic regression from this many labelled answers up; Platt scaling below (isotonic
steps overfit a small sample)."""


def fit_calibrator(raw: Numbers, correct: Numbers, method: CalibrationMethod | None = None,
                   folds: int = 5, seed: int = 0) -> FittedCalibrator:
    """Fit on (raw confidence, was the answer right) pairs; ``method`` None picks isotonic
    from :data:`ISOTONIC_FROM` answers, else Platt. ``ece_calibrated`` is measured out of
    fold (``folds``-fold, seeded): a calibrator scored on its own fitting answers flatters."""
    x = np.asarray(raw, dtype=float)
    y = np.asarray(correct, dtype=float)
    if len(x) < MIN_CALIBRATION_ANSWERS:
        raise ValueError(f"a calibrator needs at least {MIN_CALIBRATION_ANSWERS} labelled "
                         f"answers with a confidence, got {len(x)}")
    method = method or ("isotonic" if len(x) >= ISOTONIC_FROM else "platt")
    method, params = _fit(x, y, method)
    order = np.random.default_rng(seed).permutation(len(x))
    out_of_fold = np.empty(len(x))
    for part in np.array_split(order, folds):
        rest = np.setdiff1d(order, part)
        fold = FittedCalibrator(*_fit(x[rest], y[rest], method), len(rest), None, None)
        out_of_fold[part] = [fold.apply(float(v)) for v in x[part]]
    return FittedCalibrator(method, params, len(x), expected_calibration_error(x, y),
                            expected_calibration_error(out_of_fold, y))


def _fit(x: npt.NDArray[Any], y: npt.NDArray[Any],
         method: CalibrationMethod) -> tuple[CalibrationMethod, dict[str, Any]]:
    params: dict[str, Any]
    if len(set(y.tolist())) < 2:  # all right or all wrong: the constant rate is all we know
        rate = float(y.mean())
        method, params = "isotonic", {"x": [0.0, 1.0], "y": [rate, rate]}
    elif method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(x, y)
        params = {"x": [float(v) for v in iso.X_thresholds_],
                  "y": [float(v) for v in iso.y_thresholds_]}
    else:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=1e4).fit(x.reshape(-1, 1), y.astype(int))
        params = {"a": float(model.coef_[0][0]), "b": float(model.intercept_[0])}
    return method, params
