"""The pilot's numbers, as pure functions of plain tables (tested on hand-made examples):
people's leave-one-out error rate, accuracy@coverage with the expected cost per item of
routing by a confidence threshold. (Intervals and calibration are shared:
:mod:`annotate.agreement.bootstrap`, :mod:`annotate.agreement.calibration`.)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy.typing as npt
import pandas as pd

Numbers = Sequence[float] | Sequence[bool] | npt.NDArray[Any] | pd.Series


@dataclass(frozen=True)
class Costs:
    error_cost: float  # one wrong final label
    human_cost: float  # one human label


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
    """Accuracy@coverage and the expected cost and accuracy per item at each threshold."""
    points = []
    for t in thresholds:
        kept = evals[evals["valid"] & (evals["confidence"] >= t)]
        coverage = len(kept) / len(evals) if len(evals) else 0.0
        accuracy = float(kept["correct"].mean()) if len(kept) else None
        points.append(CoveragePoint(
            t, coverage, accuracy, len(kept),
            expected_cost=coverage * (1 - (accuracy or 0.0)) * costs.error_cost
            + people_cost(costs, human_error) * (1 - coverage) + llm_cost,
            expected_accuracy=coverage * (accuracy or 0.0) + (1 - coverage) * (1 - human_error)))
    return points


def people_cost(costs: Costs, human_error: float) -> float:
    """Expected cost of an item labelled by one person."""
    return costs.human_cost + human_error * costs.error_cost


def best_point(points: Sequence[CoveragePoint]) -> CoveragePoint:
    """Lowest expected cost; ties go to the higher threshold."""
    return min(points, key=lambda p: (round(p.expected_cost, 12), -p.threshold))
