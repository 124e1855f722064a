"""The pilot's numbers, as pure functions of plain tables (tested on hand-made examples):
people's leave-one-out error rate, accuracy@coverage with the expected cost per item of
routing by a confidence threshold (an error's cost may depend on the item's true label), and
the skill gate: does the model beat always answering the most common label, and does its
confidence tell its right answers from its wrong ones? (Intervals and calibration are shared:
:mod:`annotate.agreement.bootstrap`, :mod:`annotate.agreement.calibration`.)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

Numbers = Sequence[float] | Sequence[bool] | npt.NDArray[Any] | pd.Series


@dataclass(frozen=True)
class Costs:
    error_cost: float  # one wrong final label (the default for labels not in label_costs)
    human_cost: float  # one human label
    label_costs: dict[str, float] = field(default_factory=dict)
    """A wrong final label on an item whose true label is the key costs the value (missing an
    abusive message can cost more than a false alarm)."""

    def error_cost_of(self, true_label: object) -> float:
        return self.label_costs.get(str(true_label), self.error_cost)

    def mean_error_cost(self, true_labels: Sequence[object] | pd.Series) -> float:
        """The cost of an error on an item drawn from these items (their true labels)."""
        labels = list(true_labels)
        if not labels or not self.label_costs:
            return self.error_cost
        return float(np.mean([self.error_cost_of(label) for label in labels]))


@dataclass(frozen=True)
class HumanErrorRate:
    rate: float | None  # None: no item has two or more human labels
    comparisons: int
    estimator: str = ("share of human labels that differ from the majority of the other "
                      "people on the same item (leave-one-out; ties among the others skipped)")


def human_error_rate(humans: pd.DataFrame) -> HumanErrorRate:
    """Leave-one-out disagreement of each person with the others' majority."""
    errors = comparisons = 0
    for _, group in humans.groupby("item_id"):
        labels = [str(x) for x in group["label"]]
        for i, label in enumerate(labels):
            ranked = Counter(labels[:i] + labels[i + 1:]).most_common(2)
            if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
                continue
            comparisons += 1
            errors += label != ranked[0][0]
    return HumanErrorRate(errors / comparisons if comparisons else None, comparisons)


@dataclass(frozen=True)
class CoveragePoint:
    threshold: float
    coverage: float  # share of items the LLM labels alone (failures go to people)
    accuracy: float | None  # of those labels, against the human majority
    n: int
    expected_cost: float
    expected_accuracy: float


def coverage_curve(evals: pd.DataFrame, thresholds: Sequence[float], costs: Costs,
                   human_error: float, llm_cost: float) -> list[CoveragePoint]:
    """Accuracy@coverage and the expected cost and accuracy per item at each threshold; a
    wrong LLM label costs the error cost of the item's true (human majority) label."""
    points = []
    n = len(evals)
    person = people_cost(costs, human_error, evals["human_label"] if n else ())
    for t in thresholds:
        kept = evals[evals["valid"] & (evals["confidence"] >= t)]
        coverage = len(kept) / n if n else 0.0
        accuracy = float(kept["correct"].mean()) if len(kept) else None
        wrong = kept.loc[~kept["correct"].astype(bool), "human_label"]
        error_cost = sum(costs.error_cost_of(label) for label in wrong) / n if n else 0.0
        points.append(CoveragePoint(
            t, coverage, accuracy, len(kept),
            expected_cost=error_cost + person * (1 - coverage) + llm_cost,
            expected_accuracy=coverage * (accuracy or 0.0) + (1 - coverage) * (1 - human_error)))
    return points


def people_cost(costs: Costs, human_error: float,
                true_labels: Sequence[object] | pd.Series = ()) -> float:
    """Expected cost of an item labelled by one person (an error costs the mean error cost
    over ``true_labels``, the sample's human majority labels)."""
    return costs.human_cost + human_error * costs.mean_error_cost(true_labels)


def best_point(points: Sequence[CoveragePoint]) -> CoveragePoint:
    """Lowest expected cost; ties go to the higher threshold."""
    return min(points, key=lambda p: (round(p.expected_cost, 12), -p.threshold))


# -- the skill gate -------------------------------------------------------------------------


@dataclass(frozen=True)
class Skill:
    """Can the model do the task at all? Two tests on its valid answers, both needed before
    the pilot takes a single person away:

    - it beats the constant most-common label on the same items: the paired bootstrap
      interval of (model right - constant right) lies above 0;
    - its confidence separates its right answers from its wrong ones: the bootstrap interval
      of the AUROC (confidence as a score for "right") lies above 0.5.
    """

    majority_label: str | None
    majority_share: float | None  # the constant label's accuracy on the model's valid answers
    accuracy: float | None  # the model's on the same items
    difference: float | None
    difference_ci: tuple[float | None, float | None]
    auroc: float | None
    auroc_ci: tuple[float | None, float | None]
    n: int
    beats_majority: bool
    confidence_separates: bool
    reasons: tuple[str, ...]

    @property
    def can_do_task(self) -> bool:
        return self.beats_majority and self.confidence_separates


def auroc(scores: Numbers, positive: Numbers) -> float | None:
    """Area under the ROC curve of ``scores`` for telling ``positive`` items from the others
    (ties count half); None when one class is absent."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = pd.Series(s).rank(method="average").to_numpy()
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def bootstrap_auroc(scores: Numbers, positive: Numbers, n_resamples: int, seed: int = 0,
                    confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Percentile interval of the AUROC over items resampled with replacement (resamples
    with one class only are left out); (None, None) when it cannot be computed."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(positive, dtype=bool)
    if n_resamples < 1 or auroc(s, y) is None:
        return None, None
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_resamples):
        pick = rng.integers(0, len(s), size=len(s))
        value = auroc(s[pick], y[pick])
        if value is not None:
            values.append(value)
    if len(values) < n_resamples / 2:
        return None, None
    tail = (1 - confidence) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return float(low), float(high)


def skill_gate(evals: pd.DataFrame, majority_label: str | None, n_resamples: int,
               seed: int = 0) -> Skill:
    """The two tests of :class:`Skill` on the valid answers of ``evaluation_frame``."""
    from annotate.agreement.bootstrap import bootstrap_mean

    valid = evals[evals["valid"]]
    right = valid["correct"].astype(bool).to_numpy()
    if majority_label is None or not len(valid):
        return Skill(majority_label, None, None, None, (None, None), None, (None, None),
                     len(valid), False, False, ("no valid answer on an item with a human "
                                                "majority to judge the model by",))
    constant = (valid["human_label"].astype(str) == majority_label).to_numpy()
    diff = right.astype(float) - constant.astype(float)
    diff_ci = bootstrap_mean(diff, n_resamples, seed)
    area = auroc(valid["confidence"], right)
    area_ci = bootstrap_auroc(valid["confidence"], right, n_resamples, seed)
    beats = diff_ci[0] is not None and diff_ci[0] > 0
    separates = area_ci[0] is not None and area_ci[0] > 0.5
    reasons = []
    if not beats:
        reasons.append(
            f"it is right on {right.mean():.0%} of its {len(valid)} valid answers, always "
            f"answering {majority_label!r} on {constant.mean():.0%} of the same items "
            f"(paired difference {_signed(diff.mean())} {_interval(diff_ci, signed=True)}): "
            "it does not beat the most common label")
    if not separates:
        reasons.append(
            "its confidence does not separate its right answers from its wrong ones "
            + (f"(AUROC {area:.2f} {_interval(area_ci)}, needs an interval above 0.5)"
               if area is not None else
               f"(AUROC undefined: {'no' if right.all() else 'only'} wrong answers in the "
               "sample, so nothing shows that a threshold keeps the wrong ones out)"))
    return Skill(majority_label, float(constant.mean()), float(right.mean()), float(diff.mean()),
                 diff_ci, area, area_ci, len(valid), beats, separates, tuple(reasons))


def _signed(value: float) -> str:
    return f"{value:+.3f}"


def _interval(ci: tuple[float | None, float | None], signed: bool = False) -> str:
    if ci[0] is None or ci[1] is None:
        return "[no interval: too few items or no bootstrap]"
    fmt = _signed if signed else (lambda v: f"{v:.2f}")
    return f"[{fmt(ci[0])}, {fmt(ci[1])}]"
