"""How a distilled model (or an LLM annotator) scores on held-out items: accuracy with its
percentile bootstrap interval, and calibration (expected calibration error and reliability
bins of the stated confidences). Used by `annotate distill` (:mod:`annotate.distill.train`)
and the distillation benchmark.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]
    BoolArray = npt.NDArray[np.bool_]

N_BINS = 10


@dataclass(frozen=True)
class Calibration:
    """Expected calibration error over equal-width confidence bins, and the bins."""

    ece: float | None
    bins: list[dict[str, float]]


def calibration(confidence: FloatArray, correct: BoolArray, n_bins: int = N_BINS) -> Calibration:
    """ECE = sum over bins of (share of answers) x |accuracy - mean confidence|."""
    from annotate.agreement.calibration import expected_calibration_error, reliability_bins

    table = reliability_bins(confidence, correct, n_bins)
    if table.empty:
        return Calibration(None, [])
    ece = expected_calibration_error(confidence, correct, n_bins)
    bins: list[dict[str, float]] = [
        {"lo": float(row["bin_low"]), "hi": float(row["bin_high"]), "n": int(row["n"]),
         "confidence": round(float(row["confidence"]), 4),
         "accuracy": round(float(row["accuracy"]), 4)}
        for row in table.to_dict("records")]
    return Calibration(round(float(ece or 0.0), 4), bins)


def bootstrap_ci(correct: BoolArray, resamples: int = 1000, seed: int = 0,
                 level: float = 0.95) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the accuracy (None when it cannot be computed)."""
    from annotate.agreement.bootstrap import bootstrap_mean

    low, high = bootstrap_mean(correct, resamples, seed, level)
    return None if low is None or high is None else (low, high)


@dataclass(frozen=True)
class Scores:
    """Accuracy (with its bootstrap CI) and calibration of one annotator on held-out items."""

    annotator: str
    n: int
    accuracy: float | None
    ci95: tuple[float, float] | None
    ece: float | None
    n_with_confidence: int
    bins: list[dict[str, float]] = field(default_factory=list)


def score(annotator: str, predicted: Sequence[str], reference: Sequence[str],
          confidence: Sequence[float | None], resamples: int = 1000, seed: int = 0) -> Scores:
    correct = np.array([p == r for p, r in zip(predicted, reference, strict=True)], dtype=bool)
    known = np.array([c is not None and not np.isnan(c) for c in confidence], dtype=bool)
    conf = np.array([c if k else 0.0 for c, k in zip(confidence, known, strict=True)], float)
    cal = calibration(conf[known], correct[known])
    return Scores(annotator, len(correct), float(correct.mean()) if len(correct) else None,
                  bootstrap_ci(correct, resamples, seed), cal.ece, int(known.sum()), cal.bins)


def llm_scores(annotations: pd.DataFrame, reference: pd.DataFrame, resamples: int = 1000,
               seed: int = 0) -> list[Scores]:
    """Per LLM annotator (model), its stored answers on the reference items, scored."""
    llm = annotations[(annotations["role"] == "annotator")
                      & (annotations["annotator_kind"] == "llm")].dropna(subset=["label"])
    llm = llm.merge(reference[["item_id", "label"]], on="item_id", suffixes=("", "_ref"))
    return [score(str(name), rows["label"].astype(str).tolist(), rows["label_ref"].tolist(),
                  [None if pd.isna(c) else float(c) for c in rows["confidence"]], resamples, seed)
            for name, rows in llm.groupby("annotator", sort=True)]
