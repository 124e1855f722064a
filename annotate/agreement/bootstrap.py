"""Seeded, vectorised bootstrap confidence intervals over items.

Items are resampled with replacement. Alpha is a function of the coincidence matrix, and
that is a sum of per-item contributions (``V x V`` each), so a resample is just how many
times each item is drawn. Items with the same contribution (the same multiset of labels)
are interchangeable: drawing n items with replacement and counting how many fall on each
distinct contribution is a multinomial draw over the distinct contributions with
probabilities proportional to how many items share each. Each resample thus costs one
multinomial draw over the distinct patterns (a handful for nominal labels) instead of n
draws, with the same distribution as resampling the items one by one; a block of resamples
is then one matrix product ``draws @ patterns`` followed by alpha for the whole block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from annotate.agreement.coincidence import alpha_from_coincidences, distinct_rows
from annotate.agreement.table import FloatArray, IntArray, Level

DEFAULT_CONFIDENCE = 0.95
_BLOCK_CELLS = 4_000_000  # resamples per block x patterns: bounds the memory of one block


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
                    confidence: float = DEFAULT_CONFIDENCE, *,
                    multiplicity: IntArray | None = None) -> ConfidenceInterval:
    """Percentile CI of alpha from per-item coincidence contributions (units x V x V).

    ``multiplicity``: how many items share each contribution, when ``contributions`` holds
    each distinct one once (see :func:`~annotate.agreement.coincidence.distinct_rows`);
    without it every contribution is one item. Items that contribute nothing (fewer than
    two ratings) are dropped before resampling. Resamples where alpha is undefined (e.g. one
    category only) are left out and counted: ``n_valid`` says how many were usable.
    """
    if not 0 < confidence < 1:
        raise ValueError("confidence must lie strictly between 0 and 1")
    n_v = contributions.shape[-1]
    flat: FloatArray = contributions.reshape(len(contributions), n_v * n_v)
    if multiplicity is None:
        flat, multiplicity = distinct_rows(flat)
    kept = (flat.sum(axis=1) > 0) & (multiplicity > 0)
    patterns, shares = flat[kept], multiplicity[kept]
    if n_resamples < 1 or int(shares.sum()) < 2:
        why = "no resamples asked for" if n_resamples < 1 else "fewer than two pairable items"
        return _empty(confidence, n_resamples, seed, why)
    estimates = alpha_resamples(patterns.reshape(-1, n_v, n_v), values, level, n_resamples,
                                seed, multiplicity=shares)
    return percentile_interval(estimates, confidence, seed)


def alpha_resamples(units: FloatArray, values: FloatArray, level: Level,
                    n_resamples: int, seed: int, *,
                    multiplicity: IntArray | None = None) -> FloatArray:
    """Alpha of each bootstrap resample of the items (NaN where undefined).

    ``units`` holds distinct contributions (patterns x V x V), ``multiplicity`` how many
    items share each (one each without it). A resample draws as many items as there are,
    with replacement: a multinomial draw over the patterns.
    """
    rng = np.random.default_rng(seed)
    n_patterns, n_v = units.shape[0], units.shape[1]
    shares = (np.ones(n_patterns, dtype=np.int64) if multiplicity is None
              else np.asarray(multiplicity, dtype=np.int64))
    n_items = int(shares.sum())
    probabilities = shares / n_items
    flat = units.reshape(n_patterns, n_v * n_v)
    block = max(1, min(n_resamples, _BLOCK_CELLS // n_patterns))
    out = np.empty(n_resamples, dtype=np.float64)
    for start in range(0, n_resamples, block):
        size = min(block, n_resamples - start)
        draws = rng.multinomial(n_items, probabilities, size=size).astype(np.float64)
        o = (draws @ flat).reshape(size, n_v, n_v)
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
