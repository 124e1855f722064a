"""Annotator competence on one footing for people and models (#18 item 5).

Per annotator (a person or a model), the competence is its expected accuracy under
Dawid-Skene: ``sum_k prior_k * pi[k, k]`` from its estimated confusion matrix
(:mod:`annotate.agreement.dawid_skene`), with a percentile bootstrap interval over items
(items are resampled with replacement and the model refitted on each resample). Beside it:
the items it answered, how often its answer is the Dawid-Skene label of the item, and
``vs_others``: how often it gives the strict majority of the *other* annotators of an item
(on the ``items_vs_others`` items that have one).

Read ``competence`` with ``vs_others`` beside it. Dawid-Skene cannot tell who is right on
an item two annotators answered differently; it sides with the one whose other answers make
it look reliable, so when a model answers every item and each person only a few (a cascade
sends one person to the model's unsure items), the model's answers become the labels and its
competence nears 1 while ``vs_others`` (its agreement with the person) says otherwise
(measured: BENCHMARKS.md, "Annotator competence").

Why the in-house EM and not ``crowd-kit``'s: on 1,500 ratings (300 items, 5 workers)
crowd-kit's ``DawidSkene`` took 0.49 s and ``MACE`` 31 s per fit against 0.04 s here, and
an interval needs a fit per resample; importing crowdkit takes 4.5 s (it loads
transformers). The two agree on the known-answer frames
(tests/agreement/test_competence.py checks it when crowd-kit is installed, as the ``dev``
extra does).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from annotate.agreement.dawid_skene import (
    DawidSkeneResult,
    dawid_skene_of_coded,
    reliability_of_coded,
)
from annotate.agreement.table import CodedRatings, IntArray, code_ratings

COLUMNS = ["annotator", "annotator_kind", "items", "competence", "ci_low", "ci_high",
           "agrees_with_final", "vs_others", "items_vs_others"]
METHOD = "Dawid-Skene expected accuracy, percentile bootstrap over items"
# Above this many items each resample draws this many (an m-out-of-n bootstrap) and the
# spread of the draws is scaled by sqrt(m / n) around the estimate on all items: a refit per
# resample on a million items would take hours, and the interval is then narrow anyway.
MAX_RESAMPLE_ITEMS = 2_000


@dataclass(frozen=True)
class Competence:
    table: pd.DataFrame
    """One row per annotator (:data:`COLUMNS`), most competent first."""
    n_items: int
    n_resamples: int
    confidence: float
    seed: int
    method: str = METHOD
    reason: str | None = None


def annotator_competence(frame: pd.DataFrame, *, n_resamples: int = 200, seed: int = 0,
                         confidence: float = 0.95,
                         fitted: tuple[CodedRatings, DawidSkeneResult] | None = None
                         ) -> Competence:
    """Competence of every annotator of a long-form ``item_id, annotator, label`` frame
    (decisions of moderators and adjudicators are left out, labels taken as nominal).
    ``fitted``: ``code_ratings(frame, "nominal")`` and its Dawid-Skene fit, when the caller
    has them (the report fits once for its sections)."""
    coded = fitted[0] if fitted else code_ratings(frame, "nominal")
    if coded.n_items == 0 or len(coded.annotators) < 2:
        return Competence(pd.DataFrame(columns=COLUMNS), coded.n_items, 0, confidence, seed,
                          reason="competence needs answers from at least two annotators")
    fit = fitted[1] if fitted else dawid_skene_of_coded(coded)
    point = fit.annotators.set_index("annotator")["reliability"]
    low, high = _intervals(coded, n_resamples, seed, confidence,
                           [float(point[a]) for a in coded.annotators])
    final = fit.labels["label"].to_numpy(dtype=object)
    domain_index = {value: code for code, value in enumerate(coded.domain)}
    final_codes = np.array([domain_index[v] for v in final], dtype=np.int64)
    agrees = coded.label_codes == final_codes[coded.item_codes]
    n_ann = len(coded.annotators)
    answered = np.bincount(coded.annotator_codes, minlength=n_ann)
    agreed = np.bincount(coded.annotator_codes, weights=agrees.astype(float), minlength=n_ann)
    checked, matched = _versus_others(coded)
    table = pd.DataFrame({
        "annotator": list(coded.annotators),
        "annotator_kind": [coded.kinds.get(a) for a in coded.annotators],
        "items": answered.astype(int),
        "competence": [float(point[a]) for a in coded.annotators],
        "ci_low": low, "ci_high": high,
        "agrees_with_final": agreed / np.maximum(answered, 1),
        "vs_others": np.where(checked > 0, matched / np.maximum(checked, 1), np.nan),
        "items_vs_others": checked.astype(int),
    }).sort_values("competence", ascending=False, ignore_index=True)
    return Competence(table, coded.n_items, n_resamples, confidence, seed)


def _versus_others(coded: CodedRatings) -> tuple[IntArray, IntArray]:
    """Per annotator: on how many of its items the *other* annotators have a strict majority,
    and on how many its answer is that majority. Unlike Dawid-Skene this never lets an
    annotator vouch for itself."""
    counts = coded.value_counts()
    others = counts[coded.item_codes].copy()
    others[np.arange(len(coded.label_codes)), coded.label_codes] -= 1
    top = others.max(axis=1)
    strict = (top > 0) & ((others == top[:, None]).sum(axis=1) == 1)
    hit = strict & (others.argmax(axis=1) == coded.label_codes)
    n_ann = len(coded.annotators)
    checked = np.bincount(coded.annotator_codes, weights=strict.astype(float), minlength=n_ann)
    matched = np.bincount(coded.annotator_codes, weights=hit.astype(float), minlength=n_ann)
    return checked.astype(np.int64), matched.astype(np.int64)


def _intervals(coded: CodedRatings, n_resamples: int, seed: int, confidence: float,
               point: list[float]) -> tuple[list[float | None], list[float | None]]:
    """Per annotator, the percentile interval of its competence over item resamples (None
    with fewer than 20 usable resamples: too few items, or it answered too few of them).
    Above :data:`MAX_RESAMPLE_ITEMS` items, an m-out-of-n bootstrap scaled to n."""
    n_ann = len(coded.annotators)
    if n_resamples < 1 or coded.n_items < 2:
        return [None] * n_ann, [None] * n_ann
    rng = np.random.default_rng(seed)
    order = np.argsort(coded.item_codes, kind="stable")
    starts = np.searchsorted(coded.item_codes[order], np.arange(coded.n_items + 1))
    size = min(coded.n_items, MAX_RESAMPLE_ITEMS)
    draws = np.full((n_resamples, n_ann), np.nan)
    for r in range(n_resamples):
        resample = _resample(coded, rng.integers(0, coded.n_items, size), order, starts)
        reliability = reliability_of_coded(resample, max_iter=50, tol=1e-4)
        seen = np.bincount(resample.annotator_codes, minlength=n_ann) > 0
        draws[r] = np.where(seen, reliability, np.nan)
    tail = (1 - confidence) / 2
    scale = float(np.sqrt(size / coded.n_items))
    low: list[float | None] = []
    high: list[float | None] = []
    for j in range(n_ann):
        valid = draws[:, j][np.isfinite(draws[:, j])]
        if len(valid) < min(20, n_resamples):
            low.append(None)
            high.append(None)
            continue
        lo, hi = np.quantile(valid, [tail, 1 - tail])
        if size < coded.n_items:  # spread of m-item resamples, scaled to n, around the fit
            centre = float(np.mean(valid))
            lo = min(max(point[j] + (lo - centre) * scale, 0.0), point[j])
            hi = max(min(point[j] + (hi - centre) * scale, 1.0), point[j])
        low.append(float(lo))
        high.append(float(hi))
    return low, high


def _resample(coded: CodedRatings, draw: IntArray, order: IntArray, starts: IntArray
              ) -> CodedRatings:
    """The ratings of the drawn items, each draw a new item (a repeated item counts twice)."""
    first = starts[draw]
    lengths = (starts[draw + 1] - first).astype(np.int64)
    ends = np.cumsum(lengths)
    within = np.arange(int(ends[-1]) if len(ends) else 0, dtype=np.int64)
    within -= np.repeat(ends - lengths, lengths)
    rows = order[np.repeat(first, lengths) + within]
    return dataclasses.replace(
        coded, items=pd.RangeIndex(len(draw)),
        item_codes=np.repeat(np.arange(len(draw), dtype=np.int64), lengths),
        annotator_codes=coded.annotator_codes[rows], label_codes=coded.label_codes[rows])
