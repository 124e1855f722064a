"""Dawid-Skene (1979) over people and LLMs together: a small numpy EM.

Each annotator j has a confusion matrix ``pi_j[k, l]`` = P(answers l | true class k); each
class has a prior. EM alternates the posterior of every item's true class (E) with the
priors and confusion matrices those posteriors imply (M), starting from the vote shares
(soft majority vote). An annotator's estimated *reliability* is its expected accuracy,
``sum_k prior_k * pi_j[k, k]``. Additive smoothing keeps annotators with few ratings
from getting confusion matrices of exact zeros and ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from annotate.agreement.table import CodedRatings, FloatArray, code_ratings


@dataclass(frozen=True)
class DawidSkeneResult:
    labels: pd.DataFrame
    """item_id, label (most probable class), posterior (its probability)."""
    posteriors: pd.DataFrame
    """item x class posterior probabilities."""
    annotators: pd.DataFrame
    """annotator, annotator_kind, n_ratings, reliability (expected accuracy)."""
    priors: dict[str, float]
    confusion: dict[str, pd.DataFrame]
    n_iter: int
    converged: bool


def dawid_skene(frame: pd.DataFrame, *, max_iter: int = 100, tol: float = 1e-6,
                smoothing: float = 0.01) -> DawidSkeneResult:
    """Fit Dawid-Skene on a long-form ``item_id, annotator, label`` frame (nominal labels)."""
    coded = code_ratings(frame, "nominal")
    return dawid_skene_of_coded(coded, max_iter=max_iter, tol=tol, smoothing=smoothing)


def dawid_skene_of_coded(coded: CodedRatings, *, max_iter: int = 100, tol: float = 1e-6,
                         smoothing: float = 0.01) -> DawidSkeneResult:
    return _result(coded, *fit_arrays(coded, max_iter=max_iter, tol=tol, smoothing=smoothing))


def reliability_of_coded(coded: CodedRatings, *, max_iter: int = 100, tol: float = 1e-6,
                         smoothing: float = 0.01) -> FloatArray:
    """Per annotator code, the reliability :func:`dawid_skene_of_coded` reports (the same
    fit, without its frames: for the bootstrap's many small fits)."""
    _q, priors, confusion, _n_iter, _converged = fit_arrays(
        coded, max_iter=max_iter, tol=tol, smoothing=smoothing)
    return _reliability(priors, confusion)


def _reliability(priors: FloatArray, confusion: FloatArray) -> FloatArray:
    result: FloatArray = (priors[None, :] * np.diagonal(confusion, axis1=1, axis2=2)).sum(
        axis=1)
    return result


def fit_arrays(coded: CodedRatings, *, max_iter: int, tol: float, smoothing: float
               ) -> tuple[FloatArray, FloatArray, FloatArray, int, bool]:
    """The EM: item x class posteriors, priors, confusion matrices, iterations, converged."""
    counts = coded.value_counts().astype(np.float64)
    q = counts / counts.sum(axis=1, keepdims=True)
    converged, n_iter = False, 0
    priors, confusion = _m_step(coded, q, smoothing)
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - n_iter is reported
        new_q = _e_step(coded, priors, confusion)
        priors, confusion = _m_step(coded, new_q, smoothing)
        change = float(np.abs(new_q - q).max())
        q = new_q
        if change < tol:
            converged = True
            break
    return q, priors, confusion, n_iter, converged


def _m_step(coded: CodedRatings, q: FloatArray, smoothing: float
            ) -> tuple[FloatArray, FloatArray]:
    n_ann, k = len(coded.annotators), coded.n_values
    priors = (q.sum(axis=0) + smoothing) / (q.sum() + smoothing * k)
    weights = q[coded.item_codes]  # ratings x true class
    base = coded.annotator_codes * k * k + coded.label_codes
    flat = np.full(n_ann * k * k, smoothing, dtype=np.float64)
    for true in range(k):
        flat += np.bincount(base + true * k, weights=weights[:, true], minlength=n_ann * k * k)
    confusion: FloatArray = flat.reshape(n_ann, k, k)
    confusion /= confusion.sum(axis=2, keepdims=True)
    return priors, confusion


def _e_step(coded: CodedRatings, priors: FloatArray, confusion: FloatArray) -> FloatArray:
    k = coded.n_values
    log_conf = np.log(confusion)
    per_rating = log_conf[coded.annotator_codes, :, coded.label_codes]  # ratings x true class
    log_q = np.tile(np.log(priors), (coded.n_items, 1))
    for true in range(k):
        log_q[:, true] += np.bincount(coded.item_codes, weights=per_rating[:, true],
                                      minlength=coded.n_items)
    log_q -= log_q.max(axis=1, keepdims=True)
    q = np.exp(log_q)
    result: FloatArray = q / q.sum(axis=1, keepdims=True)
    return result


def _result(coded: CodedRatings, q: FloatArray, priors: FloatArray, confusion: FloatArray,
            n_iter: int, converged: bool) -> DawidSkeneResult:
    classes = [str(c) for c in coded.domain]
    best = q.argmax(axis=1)
    labels = pd.DataFrame({"item_id": coded.items.to_numpy(dtype=object),
                           "label": [coded.domain[i] for i in best],
                           "posterior": q[np.arange(len(best)), best]})
    reliability = _reliability(priors, confusion)
    n_ratings = np.bincount(coded.annotator_codes, minlength=len(coded.annotators))
    annotators = pd.DataFrame({
        "annotator": list(coded.annotators),
        "annotator_kind": [coded.kinds.get(a) for a in coded.annotators],
        "n_ratings": n_ratings.astype(int),
        "reliability": reliability,
    }).sort_values("reliability", ascending=False, ignore_index=True)
    return DawidSkeneResult(
        labels=labels,
        posteriors=pd.DataFrame(q, index=coded.items.rename("item_id"),
                                columns=classes),
        annotators=annotators,
        priors=dict(zip(classes, map(float, priors), strict=True)),
        confusion={a: pd.DataFrame(confusion[j], index=classes, columns=classes)
                   for j, a in enumerate(coded.annotators)},
        n_iter=n_iter, converged=converged)
