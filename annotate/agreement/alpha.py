"""Krippendorff's alpha on a long-form table, with a defined answer for degenerate data.

The number itself comes from the ``krippendorff`` package (fed the item x value count
matrix, so missing ratings cost nothing); this module codes the table, catches the
cases where alpha is undefined and says why, and adds the bootstrap interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from annotate.agreement.bootstrap import DEFAULT_CONFIDENCE, ConfidenceInterval, bootstrap_alpha
from annotate.agreement.coincidence import (
    coincidences,
    disagreements,
    distinct_rows,
    unit_coincidences,
)
from annotate.agreement.table import CodedRatings, FloatArray, IntArray, Level, code_ratings


@dataclass(frozen=True)
class AlphaResult:
    """Krippendorff's alpha; ``value`` is None exactly when ``reason`` says why."""

    value: float | None
    level: Level
    n_items: int
    n_pairable_items: int
    n_pairable_values: int
    n_annotators: int
    observed_disagreement: float | None
    expected_disagreement: float | None
    reason: str | None = None
    ci: ConfidenceInterval | None = None
    notes: tuple[str, ...] = ()


def krippendorff_alpha(frame: pd.DataFrame, level: str = "nominal",
                       order: Sequence[object] | None = None, *, bootstrap: int = 0,
                       seed: int = 0, confidence: float = DEFAULT_CONFIDENCE) -> AlphaResult:
    """Alpha of a long-form ``item_id, annotator, label`` frame at the given level.

    Items with a single rating are ignored; missing ratings are simply absent rows. String
    labels work; ordinal text labels need ``order`` (lowest first). ``bootstrap`` > 0 adds a
    percentile CI over items from that many seeded resamples.
    """
    coded = code_ratings(frame, level, order)
    return alpha_of_coded(coded, bootstrap=bootstrap, seed=seed, confidence=confidence)


def alpha_of_coded(coded: CodedRatings, *, bootstrap: int = 0, seed: int = 0,
                   confidence: float = DEFAULT_CONFIDENCE) -> AlphaResult:
    """Alpha of an already coded table (see :func:`~annotate.agreement.table.code_ratings`)."""
    counts = coded.value_counts()
    result = alpha_from_counts(counts, coded.values, coded.level,
                               n_annotators=len(coded.annotators))
    result = replace(result, notes=result.notes + coded.notes)
    if bootstrap > 0 and result.value is not None:
        patterns, multiplicity = distinct_rows(counts)  # items with the same labels
        ci = bootstrap_alpha(unit_coincidences(patterns), coded.values, coded.level,
                             bootstrap, seed, confidence, multiplicity=multiplicity)
        result = replace(result, ci=ci)
    return result


def alpha_from_counts(counts: IntArray, values: FloatArray, level: Level,
                      n_annotators: int = 0) -> AlphaResult:
    """Alpha of an item x value count matrix (``values``: the number of each column)."""
    import krippendorff

    per_item = counts.sum(axis=1)
    pairable = counts[per_item >= 2]
    base = AlphaResult(value=None, level=level, n_items=int((per_item > 0).sum()),
                       n_pairable_items=len(pairable), n_pairable_values=int(pairable.sum()),
                       n_annotators=n_annotators, observed_disagreement=None,
                       expected_disagreement=None)
    reason = degenerate_reason(pairable)
    if reason is not None:
        return replace(base, reason=reason)
    used = pairable.sum(axis=0) > 0  # drop unused values: the package needs >1 in the domain
    value = float(krippendorff.alpha(value_counts=pairable[:, used], value_domain=values[used],
                                     level_of_measurement=level))
    d_o, d_e = disagreements(coincidences(pairable), values, level)
    return replace(base, value=value, observed_disagreement=d_o, expected_disagreement=d_e)


def degenerate_reason(pairable: IntArray) -> str | None:
    """Why alpha is undefined for these (pairable) item rows, or None if it is defined."""
    if len(pairable) == 0:
        return "no pairable values: no item has two or more ratings"
    used = int((pairable.sum(axis=0) > 0).sum())
    if used < 2:
        return ("only one category occurs among the pairable values: there is no variation, "
                "so expected disagreement is zero and alpha is undefined")
    return None


def specific_agreement(counts: IntArray, domain: Sequence[object]) -> pd.DataFrame:
    """Per-label agreement: of the pairable values of a label, the share matched by the same label.

    This is ``o_cc / n_c`` from the coincidence matrix (specific agreement), beside how often
    each label was used.
    """
    o = coincidences(counts)
    n_c = o.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(n_c > 0, np.diag(o) / n_c, np.nan)
    return pd.DataFrame({
        "label": list(domain),
        "n_ratings": counts.sum(axis=0).astype(int),
        "n_pairable": n_c,
        "specific_agreement": share,
    })
