"""Krippendorff's alpha in coincidence-matrix form, vectorised over a batch of matrices.

The point estimate of alpha is left to the ``krippendorff`` package (see
:mod:`annotate.agreement.alpha`); this module holds what the package lacks: per-item
coincidence contributions (so a bootstrap can re-weight items without recounting), the
coincidences of *pairs across two groups* of annotators (human vs LLM), and alpha for a
whole stack of coincidence matrices at once.

With ``o`` the V x V coincidence matrix, ``n_c`` its marginals, ``n`` their sum and
``delta`` the distance of the level of measurement (zero on the diagonal):

    alpha = 1 - (n - 1) * sum(o * delta) / sum(n_c * n_k * delta)
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import numpy.typing as npt

from annotate.agreement.table import FloatArray, IntArray, Level

Number = TypeVar("Number", bound=np.generic)


def unit_coincidences(counts: IntArray) -> FloatArray:
    """Per-item coincidence contributions, shape (items, V, V), for an item x value count matrix.

    An item rated m >= 2 times adds ``(c c^T - diag(c)) / (m - 1)``; items with fewer
    than two ratings add nothing.
    """
    c = counts.astype(np.float64)
    m = c.sum(axis=1)
    outer = c[:, :, None] * c[:, None, :]
    idx = np.arange(c.shape[1])
    outer[:, idx, idx] -= c
    scale = np.divide(1.0, m - 1.0, out=np.zeros_like(m), where=m >= 2)
    result: FloatArray = outer * scale[:, None, None]
    return result


def coincidences(counts: IntArray) -> FloatArray:
    """The coincidence matrix (V x V): the sum of :func:`unit_coincidences`, as one product."""
    c = counts.astype(np.float64)
    m = c.sum(axis=1)
    weighted = c * np.divide(1.0, m - 1.0, out=np.zeros_like(m), where=m >= 2)[:, None]
    result: FloatArray = weighted.T @ c - np.diag(weighted.sum(axis=0))
    return result


def cross_coincidences(counts_a: IntArray, counts_b: IntArray) -> FloatArray:
    """Per-item coincidences of every pair (one rating from group a, one from group b).

    Each such pair is a two-value unit: it adds one to ``o[x_a, x_b]`` and one to
    ``o[x_b, x_a]``. For two single annotators this is ordinary two-coder alpha.
    """
    a = counts_a.astype(np.float64)
    b = counts_b.astype(np.float64)
    pairs = a[:, :, None] * b[:, None, :]
    result: FloatArray = pairs + pairs.transpose(0, 2, 1)
    return result


def distances(values: FloatArray, level: Level, n_v: FloatArray) -> FloatArray:
    """Squared distances between domain values; batched over ``n_v`` for ordinal data.

    ``n_v`` has shape (..., V) (the marginals); the result has shape (..., V, V) for
    ordinal data and (V, V) otherwise.
    """
    v = values.astype(np.float64)
    if level == "nominal":
        return 1.0 - np.eye(len(v))
    if level == "interval":
        return (v[:, None] - v[None, :]) ** 2
    if level == "ratio":
        total = v[:, None] + v[None, :]
        diff = v[:, None] - v[None, :]
        ratio: FloatArray = np.divide(diff, total, out=np.zeros_like(diff), where=total != 0) ** 2
        return ratio
    cum = np.cumsum(n_v, axis=-1)
    # sum of n_g for g between c and k (inclusive), minus half the end points, squared
    lo_cum = cum[..., :, None] - n_v[..., :, None]
    between = np.abs(cum[..., None, :] - lo_cum)
    upper = np.triu(np.ones((len(v), len(v)), dtype=bool))
    between = np.where(upper, between, np.swapaxes(between, -1, -2))
    ordinal: FloatArray = (between - (n_v[..., :, None] + n_v[..., None, :]) / 2.0) ** 2
    return ordinal


def alpha_from_coincidences(o: FloatArray, values: FloatArray, level: Level) -> FloatArray:
    """Alpha for a stack of coincidence matrices, shape (..., V, V) -> (...).

    NaN where alpha is undefined (no pairable values, or no expected disagreement).
    """
    n_v = o.sum(axis=-1)
    n = n_v.sum(axis=-1)
    delta = distances(values, level, n_v)
    observed = (o * delta).sum(axis=(-2, -1))
    expected = (n_v[..., :, None] * n_v[..., None, :] * delta).sum(axis=(-2, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha: FloatArray = np.where(
            (expected > 0) & (n > 1), 1.0 - (n - 1.0) * observed / expected, np.nan)
    return alpha


def disagreements(o: FloatArray, values: FloatArray, level: Level) -> tuple[float, float]:
    """Observed and expected disagreement (D_o, D_e) of one coincidence matrix."""
    n_v = o.sum(axis=-1)
    n = float(n_v.sum())
    if n <= 1:
        return float("nan"), float("nan")
    delta = distances(values, level, n_v)
    observed = float((o * delta).sum()) / n
    expected = float((np.outer(n_v, n_v) * delta).sum()) / (n * (n - 1.0))
    return observed, expected


def distinct_rows(matrix: npt.NDArray[Number]) -> tuple[npt.NDArray[Number], IntArray]:
    """The distinct rows of a 2-D array (in a fixed order) and how many times each occurs.

    Rows of small non-negative integers (count matrices) are keyed by one integer each and
    sorted in one pass; anything else is compared byte by byte. Two rows that are equal in
    value but not in bytes (0.0 and -0.0) stay apart, which costs a row and changes nothing.
    """
    rows = np.ascontiguousarray(matrix)
    if rows.ndim != 2 or len(rows) == 0:
        return rows, np.ones(len(rows), dtype=np.int64)
    keys: npt.NDArray[np.generic] | None = _integer_keys(rows)
    if keys is None:
        keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, first, counts = np.unique(keys, return_index=True, return_counts=True)
    return rows[first], counts.astype(np.int64)


def _integer_keys(rows: npt.NDArray[np.generic]) -> IntArray | None:
    """One int64 per row (the row read as digits in base max + 1), or None if it won't fit."""
    if rows.dtype.kind not in "iu" or int(rows.min()) < 0:
        return None
    base = int(rows.max()) + 1
    if rows.shape[1] * np.log2(max(base, 2)) >= 62:
        return None
    keys = np.zeros(len(rows), dtype=np.int64)
    for column in rows.T:
        keys = keys * base + column.astype(np.int64)
    return keys

