"""Calibration of confidences: reliability bins and the expected calibration error (ECE),
shared by the pilot and the distilled-model report."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

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
