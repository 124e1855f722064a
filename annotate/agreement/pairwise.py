"""Agreement between every pair of annotators, and by pair type (human-human, human-LLM, LLM-LLM).

Pairwise: for annotators a and b, each item both rated is a two-value unit; alpha over
those units is two-coder Krippendorff's alpha.

Groups: human-human (and LLM-LLM) is ordinary alpha over the ratings of that kind alone.
Human-LLM pools every (human rating, LLM rating) pair on the same item as a two-value unit,
so it measures how far LLM answers agree with human answers and nothing else. Each comes
with its percent agreement over the same pairs, the number of shared items and a bootstrap
CI over items.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from annotate.agreement.bootstrap import DEFAULT_CONFIDENCE, ConfidenceInterval, bootstrap_alpha
from annotate.agreement.coincidence import (
    alpha_from_coincidences,
    cross_coincidences,
    distinct_rows,
    unit_coincidences,
)
from annotate.agreement.kappa import percent_agreement_of_counts
from annotate.agreement.table import CodedRatings, FloatArray, IntArray, Kind, code_ratings

GROUPS: tuple[tuple[Kind, Kind], ...] = (("human", "human"), ("human", "llm"), ("llm", "llm"))


@dataclass(frozen=True)
class PairAgreement:
    annotator_a: str
    annotator_b: str
    kind_a: Kind | None
    kind_b: Kind | None
    n_shared_items: int
    percent_agreement: float | None
    alpha: float | None
    ci: ConfidenceInterval | None = None
    reason: str | None = None


@dataclass(frozen=True)
class GroupAgreement:
    group: str
    n_annotators: int
    n_shared_items: int
    n_pairs: int
    percent_agreement: float | None
    alpha: float | None
    method: str
    ci: ConfidenceInterval | None = None
    reason: str | None = None


def pairwise_agreement(frame: pd.DataFrame, level: str = "nominal",
                       order: Sequence[object] | None = None, *, bootstrap: int = 0,
                       seed: int = 0, confidence: float = DEFAULT_CONFIDENCE
                       ) -> list[PairAgreement]:
    """Alpha and percent agreement for every pair of annotators (CI when ``bootstrap`` > 0)."""
    coded = code_ratings(frame, level, order)
    return pairwise_of_coded(coded, bootstrap=bootstrap, seed=seed, confidence=confidence)


def pairwise_of_coded(coded: CodedRatings, *, bootstrap: int = 0, seed: int = 0,
                      confidence: float = DEFAULT_CONFIDENCE) -> list[PairAgreement]:
    per_annotator = _counts_per_annotator(coded)
    out = []
    for i, j in combinations(range(len(coded.annotators)), 2):
        a, b = per_annotator[i], per_annotator[j]
        shared = (a.sum(axis=1) > 0) & (b.sum(axis=1) > 0)
        units, multiplicity = _distinct_cross(a[shared], b[shared])
        agreeing = int((a[shared] * b[shared]).sum())
        value, ci, reason = _alpha_and_ci(units, multiplicity, coded, bootstrap, seed,
                                          confidence)
        name_a, name_b = coded.annotators[i], coded.annotators[j]
        n_shared = int(shared.sum())
        out.append(PairAgreement(
            annotator_a=name_a, annotator_b=name_b,
            kind_a=coded.kinds.get(name_a), kind_b=coded.kinds.get(name_b),
            n_shared_items=n_shared,
            percent_agreement=agreeing / n_shared if n_shared else None,
            alpha=value, ci=ci, reason=reason))
    return out


def agreement_matrix(pairs: Sequence[PairAgreement], statistic: str = "alpha") -> pd.DataFrame:
    """Annotator x annotator table of one statistic (``alpha``, ``percent_agreement`` or
    ``n_shared_items``); symmetric, with an empty diagonal."""
    names = list(dict.fromkeys([p.annotator_a for p in pairs] + [p.annotator_b for p in pairs]))
    table = pd.DataFrame(np.nan, index=names, columns=names, dtype=float)
    for p in pairs:
        raw = getattr(p, statistic)
        value = float(raw) if raw is not None else np.nan
        table.loc[p.annotator_a, p.annotator_b] = value
        table.loc[p.annotator_b, p.annotator_a] = value
    return table


def group_agreement(frame: pd.DataFrame, level: str = "nominal",
                    order: Sequence[object] | None = None, *, bootstrap: int = 0,
                    seed: int = 0, confidence: float = DEFAULT_CONFIDENCE
                    ) -> list[GroupAgreement]:
    """Human-human, human-LLM and LLM-LLM agreement (empty without ``annotator_kind``)."""
    coded = code_ratings(frame, level, order)
    return groups_of_coded(coded, bootstrap=bootstrap, seed=seed, confidence=confidence)


def groups_of_coded(coded: CodedRatings, *, bootstrap: int = 0, seed: int = 0,
                    confidence: float = DEFAULT_CONFIDENCE) -> list[GroupAgreement]:
    if all(kind is None for kind in coded.kinds.values()):
        return []
    return [_group(coded, pair, bootstrap, seed, confidence) for pair in GROUPS]


def _group(coded: CodedRatings, pair: tuple[Kind, Kind], bootstrap: int, seed: int,
           confidence: float) -> GroupAgreement:
    first, second = pair
    name = f"{first}-{second}"
    members = [a for a in coded.annotators if coded.kinds.get(a) in pair]
    if first == second:
        counts = coded.value_counts(coded.kind_mask(first))
        patterns, multiplicity = distinct_rows(counts)
        units = unit_coincidences(patterns)
        shared = counts.sum(axis=1) >= 2
        share = percent_agreement_of_counts(counts)
        method = f"Krippendorff's alpha over the {first} ratings"
        n_pairs, agreement = share.n_pairs, share.value
    else:
        a = coded.value_counts(coded.kind_mask(first))
        b = coded.value_counts(coded.kind_mask(second))
        units, multiplicity = _distinct_cross(a, b)
        shared = (a.sum(axis=1) > 0) & (b.sum(axis=1) > 0)
        n_pairs = int((a.sum(axis=1) * b.sum(axis=1)).sum())
        agreement = int((a * b).sum()) / n_pairs if n_pairs else None
        method = f"alpha over {first}-{second} rating pairs on the same item"
    value, ci, reason = _alpha_and_ci(units, multiplicity, coded, bootstrap, seed, confidence)
    if not shared.any():
        reason = f"no item has ratings from both sides of {name}"
    return GroupAgreement(group=name, n_annotators=len(members), n_shared_items=int(shared.sum()),
                          n_pairs=n_pairs, percent_agreement=agreement, alpha=value,
                          method=method, ci=ci, reason=reason)


def _distinct_cross(a: IntArray, b: IntArray) -> tuple[FloatArray, IntArray]:
    """The distinct cross coincidences of items' (group a, group b) counts, and how many items
    share each."""
    patterns, multiplicity = distinct_rows(np.hstack([a, b]))
    n_v = a.shape[1]
    return cross_coincidences(patterns[:, :n_v], patterns[:, n_v:]), multiplicity


def _alpha_and_ci(units: FloatArray, multiplicity: IntArray, coded: CodedRatings,
                  bootstrap: int, seed: int, confidence: float
                  ) -> tuple[float | None, ConfidenceInterval | None, str | None]:
    """``units``: distinct per-item contributions; ``multiplicity``: how many items share each."""
    o = np.tensordot(multiplicity.astype(np.float64), units, axes=1).astype(np.float64)
    if o.sum() <= 1:
        return None, None, "no pairable values"
    if int((o.sum(axis=1) > 0).sum()) < 2:
        return None, None, "only one category occurs: alpha is undefined"
    value = float(alpha_from_coincidences(o, coded.values, coded.level))
    if not np.isfinite(value):
        return None, None, "expected disagreement is zero: alpha is undefined"
    ci = (bootstrap_alpha(units, coded.values, coded.level, bootstrap, seed, confidence,
                          multiplicity=multiplicity) if bootstrap > 0 else None)
    return value, ci, None


def _counts_per_annotator(coded: CodedRatings) -> list[IntArray]:
    return [coded.value_counts(coded.annotator_codes == i) for i in range(len(coded.annotators))]

