"""Seeded, vectorised bootstrap confidence intervals over items.

Items are resampled with replacement. Rather than recounting each resample, every item's
coincidence contribution is computed once (``units x V x V``); a resample is then just a
vector of draw counts, and a block of resamples is one matrix product
``weights @ contributions`` followed by alpha for the whole block at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from annotate.agreement.coincidence import alpha_from_coincidences, resample_weights
from annotate.agreement.table import FloatArray, Level

DEFAULT_CONFIDENCE = 0.95
_BLOCK_CELLS = 4_000_000  # resamples per block x units: bounds the memory of one block


@dataclass(frozen=True)
class ConfidenceInterval:
    """A percentile bootstrap interval over items."""

    low: float | None
    high: float | None
    confidence: float
    n_resamples: int
    n_valid: int
    seed: int
    method: str = "percentile bootstrap over items"
    reason: str | None = None


def bootstrap_alpha(contributions: FloatArray, values: FloatArray, level: Level,
                    n_resamples: int, seed: int = 0,
                    confidence: float = DEFAULT_CONFIDENCE) -> ConfidenceInterval:
    """Percentile CI of alpha from per-item coincidence contributions (units x V x V).

    Items that contribute nothing (fewer than two ratings) are dropped before resampling.
    Resamples where alpha is undefined (e.g. one category only) are left out and counted:
    ``n_valid`` says how many were usable.
    """
    if not 0 < confidence < 1:
        raise ValueError("confidence must lie strictly between 0 and 1")
    units = contributions[contributions.sum(axis=(1, 2)) > 0]
    if n_resamples < 1 or len(units) < 2:
        why = "no resamples asked for" if n_resamples < 1 else "fewer than two pairable items"
        return _empty(confidence, n_resamples, seed, why)
    estimates = alpha_resamples(units, values, level, n_resamples, seed)
    return percentile_interval(estimates, confidence, seed)


def alpha_resamples(units: FloatArray, values: FloatArray, level: Level,
                    n_resamples: int, seed: int) -> FloatArray:
    """Alpha of each bootstrap resample of the units (NaN where undefined)."""
    rng = np.random.default_rng(seed)
    n_units, n_v = units.shape[0], units.shape[1]
    flat = units.reshape(n_units, n_v * n_v)
    block = max(1, min(n_resamples, _BLOCK_CELLS // n_units))
    out = np.empty(n_resamples, dtype=np.float64)
    for start in range(0, n_resamples, block):
        size = min(block, n_resamples - start)
        weights = resample_weights(rng, n_units, size)
        o = (weights @ flat).reshape(size, n_v, n_v)
        out[start:start + size] = alpha_from_coincidences(o, values, level)
    return out


def percentile_interval(estimates: FloatArray, confidence: float, seed: int
                        ) -> ConfidenceInterval:
    """The percentile interval of the finite estimates."""
    valid = estimates[np.isfinite(estimates)]
    if len(valid) == 0:
        return _empty(confidence, len(estimates), seed,
                      "the statistic is undefined in every resample")
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(valid, [tail, 1.0 - tail])
    return ConfidenceInterval(low=float(low), high=float(high), confidence=confidence,
                              n_resamples=len(estimates), n_valid=len(valid), seed=seed)


def _empty(confidence: float, n_resamples: int, seed: int, reason: str) -> ConfidenceInterval:
    return ConfidenceInterval(low=None, high=None, confidence=confidence,
                              n_resamples=n_resamples, n_valid=0, seed=seed, reason=reason)


def bootstrap_mean(values: object, n_resamples: int, seed: int = 0,
                   confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Percentile bootstrap interval of a mean over units (items): resample the units with
    replacement ``n_resamples`` times. (None, None) with fewer than two values or no
    resamples. The one interval of a mean used by the pilot, distill and replay reports."""
    data = np.asarray(values, dtype=float)
    if len(data) < 2 or n_resamples < 1:
        return None, None
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(n_resamples, len(data)))].mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)
