"""Percent agreement, Cohen's kappa and Fleiss' kappa.

Both kappas are computed here from a contingency or count table, in the same steps as
scikit-learn's ``cohen_kappa_score`` and statsmodels' ``fleiss_kappa`` (the tests hold them
to those): importing either package took longer than a report's whole kappa arithmetic.

Each returns a small result whose ``value`` is None exactly when ``reason`` says why the
statistic does not apply (three annotators for Cohen, unequal ratings per item for Fleiss,
one category only ...). Failures are values here; only malformed input raises.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from annotate.agreement.table import CodedRatings, FloatArray, IntArray, code_ratings
from annotate.errors import InvalidInput

Weights = Literal["linear", "quadratic"] | None


@dataclass(frozen=True)
class PercentAgreement:
    """The share of agreeing pairs among all pairs of ratings given to the same item."""

    value: float | None
    n_items: int
    n_pairs: int
    reason: str | None = None


@dataclass(frozen=True)
class KappaResult:
    value: float | None
    statistic: str
    n_items: int
    annotators: tuple[str, ...]
    weights: str | None = None
    reason: str | None = None


def percent_agreement(frame: pd.DataFrame) -> PercentAgreement:
    """Pooled pairwise percent agreement of a long-form frame (exact label equality)."""
    return percent_agreement_of_counts(code_ratings(frame, "nominal").value_counts())


def percent_agreement_of_counts(counts: IntArray) -> PercentAgreement:
    """Percent agreement from an item x value count matrix.

    An item with m ratings has m(m-1)/2 pairs, of which sum_c n_c(n_c-1)/2 agree.
    """
    m = counts.sum(axis=1)
    pairs = int((m * (m - 1) // 2).sum())
    agreeing = int((counts * (counts - 1) // 2).sum())
    n_items = int((m >= 2).sum())
    if pairs == 0:
        return PercentAgreement(None, n_items, 0, "no item has two or more ratings")
    return PercentAgreement(agreeing / pairs, n_items, pairs)


def cohen_kappa(frame: pd.DataFrame, weights: Weights = None,
                order: Sequence[object] | None = None,
                annotators: tuple[str, str] | None = None) -> KappaResult:
    """Cohen's kappa between two annotators over the items both rated.

    ``weights`` (linear or quadratic) need ordered labels: numeric labels, or ``order``.
    The weights use label positions in that order (equal steps), as R's ``irr::kappa2``.
    Without ``annotators`` the frame must hold exactly two annotators.
    """
    level = "nominal" if weights is None else "ordinal"
    try:
        coded = code_ratings(frame, level, order)
    except InvalidInput as exc:  # no usable order: weights cannot apply
        if weights is None:
            raise
        return KappaResult(None, "cohen_kappa", 0, (), weights, f"weighted kappa: {exc}")
    return cohen_kappa_of_coded(coded, weights, annotators)


def cohen_kappa_of_coded(coded: CodedRatings, weights: Weights = None,
                         annotators: tuple[str, str] | None = None) -> KappaResult:
    pair = annotators or tuple(coded.annotators)
    if len(pair) != 2:
        return KappaResult(None, "cohen_kappa", 0, tuple(pair), weights,
                           f"Cohen's kappa needs exactly two annotators; found {len(pair)}")
    missing = [a for a in pair if a not in coded.annotators]
    if missing:
        return KappaResult(None, "cohen_kappa", 0, tuple(pair), weights,
                           f"no ratings from {', '.join(missing)}")
    matrix = coded.matrix()
    a, b = (matrix[coded.annotators.index(name)] for name in pair)
    shared = (a >= 0) & (b >= 0)
    return kappa_of_codes(a[shared], b[shared], coded.n_values, weights, (pair[0], pair[1]))


def kappa_of_codes(a: IntArray, b: IntArray, n_values: int, weights: Weights,
                   pair: tuple[str, str]) -> KappaResult:
    """Cohen's kappa of two aligned code vectors, from their contingency table."""
    n = len(a)
    if n == 0:
        return KappaResult(None, "cohen_kappa", 0, pair, weights,
                           "the two annotators share no item")
    if len(np.union1d(a, b)) < 2:
        return KappaResult(None, "cohen_kappa", n, pair, weights,
                           "both annotators used one and the same category only: "
                           "kappa is undefined")
    labels = np.arange(n_values) if weights is not None else np.union1d(a, b)
    value = kappa_of_table(contingency(a, b, labels), weights)
    if not np.isfinite(value):
        return KappaResult(None, "cohen_kappa", n, pair, weights,
                           "expected agreement is total (each annotator used one category)")
    return KappaResult(value, "cohen_kappa", n, pair, weights)


def contingency(a: IntArray, b: IntArray, labels: IntArray) -> FloatArray:
    """The labels x labels table of (a, b) code pairs: rows a, columns b, one bincount."""
    position = np.full(int(max(labels.max(), a.max(), b.max())) + 1, -1, dtype=np.int64)
    position[labels] = np.arange(len(labels))
    rows, columns = position[a], position[b]
    known = (rows >= 0) & (columns >= 0)
    size = len(labels)
    flat = np.bincount(rows[known] * size + columns[known], minlength=size * size)
    table: FloatArray = flat.reshape(size, size).astype(np.float64)
    return table


def kappa_of_table(confusion: FloatArray, weights: Weights) -> float:
    """Cohen's kappa of a contingency table, in the same steps (and the same floating-point
    sums) as scikit-learn's ``cohen_kappa_score``; NaN where the expected disagreement is 0."""
    n_classes = confusion.shape[0]
    sum0 = confusion.sum(axis=0)
    sum1 = confusion.sum(axis=1)
    total = sum0.sum()
    if total == 0:
        return float("nan")
    expected = np.outer(sum0, sum1) / total
    w_mat: FloatArray
    if weights is None:
        w_mat = np.ones((n_classes, n_classes), dtype=np.float64)
        np.fill_diagonal(w_mat, 0.0)
    else:
        steps: FloatArray = np.zeros((n_classes, n_classes), dtype=np.float64)
        steps += np.arange(n_classes)
        w_mat = np.abs(steps - steps.T) if weights == "linear" else (steps - steps.T) ** 2
    numerator = float(np.sum(w_mat * confusion))
    denominator = float(np.sum(w_mat * expected))
    if denominator == 0:
        return float("nan")
    return 1.0 - numerator / denominator


def fleiss_kappa(frame: pd.DataFrame) -> KappaResult:
    """Fleiss' kappa; every item must be rated the same number of times."""
    return fleiss_kappa_of_coded(code_ratings(frame, "nominal"))


def fleiss_kappa_of_coded(coded: CodedRatings) -> KappaResult:
    counts = coded.value_counts()
    per_item = counts.sum(axis=1)
    n_items = len(counts)
    names = tuple(coded.annotators)
    sizes = np.unique(per_item)
    if n_items == 0:
        return KappaResult(None, "fleiss_kappa", 0, names, None, "the table has no ratings")
    if len(sizes) > 1:
        spread = "; ".join(f"{int((per_item == k).sum())} with {int(k)}" for k in sizes[:6])
        return KappaResult(None, "fleiss_kappa", n_items, names, None,
                           "Fleiss' kappa needs every item rated the same number of times; here "
                           f"items have {int(sizes[0])} to {int(sizes[-1])} ratings (items: "
                           f"{spread}); Krippendorff's alpha handles unequal numbers")
    if int(sizes[0]) < 2:
        return KappaResult(None, "fleiss_kappa", n_items, names, None,
                           "Fleiss' kappa needs at least two ratings per item")
    if int((counts.sum(axis=0) > 0).sum()) < 2:
        return KappaResult(None, "fleiss_kappa", n_items, names, None,
                           "only one category is used: kappa is undefined")
    return KappaResult(fleiss_kappa_of_counts(counts), "fleiss_kappa", n_items, names)


def fleiss_kappa_of_counts(counts: IntArray) -> float:
    """Fleiss' kappa of an item x value count matrix with the same number of ratings per
    item, in the same steps (and floating-point sums) as statsmodels' ``fleiss_kappa``."""
    table = 1.0 * np.asarray(counts)
    n_rat = table.sum(1).max()
    p_cat = table.sum(0) / table.sum()
    p_rat = ((table * table).sum(1) - n_rat) / (n_rat * (n_rat - 1.0))
    p_mean_exp = (p_cat * p_cat).sum()
    return float((p_rat.mean() - p_mean_exp) / (1 - p_mean_exp))
