"""The bootstrap over items as a multinomial draw over distinct label patterns.

Resampling n items with replacement and counting how many land on each distinct per-item
contribution is a multinomial draw over those contributions; these tests hold the fast
draw to a slow reference that resamples item by item (same seed each run, Monte-Carlo
tolerance) and check the pattern bookkeeping exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from annotate.agreement import group_agreement, krippendorff_alpha
from annotate.agreement.bootstrap import bootstrap_alpha
from annotate.agreement.coincidence import (
    alpha_from_coincidences,
    cross_coincidences,
    distinct_rows,
    unit_coincidences,
)
from annotate.agreement.table import code_ratings


def _ratings(n_items: int, n_annotators: int, seed: int, spread: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, spread, n_items)
    labels = np.where(rng.random((n_items, n_annotators)) < 0.65, truth[:, None],
                      rng.integers(0, spread, (n_items, n_annotators)))
    missing = rng.random((n_items, n_annotators)) < 0.15  # some items get fewer ratings
    frame = pd.DataFrame({"item_id": np.repeat(np.arange(n_items), n_annotators),
                          "annotator": np.tile([f"a{j}" for j in range(n_annotators)], n_items),
                          "label": labels.ravel()})
    return frame[~missing.ravel()].reset_index(drop=True)


def _item_by_item(units: np.ndarray, values: np.ndarray, level: str, n_resamples: int,
                  seed: int) -> tuple[float, float]:
    """The slow reference: draw n item indices per resample, sum their contributions."""
    units = units[units.sum(axis=(1, 2)) > 0]
    rng = np.random.default_rng(seed)
    estimates = np.array([
        float(alpha_from_coincidences(units[rng.integers(0, len(units), len(units))].sum(axis=0),
                                      values, level))  # type: ignore[arg-type]
        for _ in range(n_resamples)])
    low, high = np.quantile(estimates[np.isfinite(estimates)], [0.025, 0.975])
    return float(low), float(high)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_the_pattern_bootstrap_matches_resampling_item_by_item(level: str) -> None:
    coded = code_ratings(_ratings(400, 3, seed=5), level)
    counts = coded.value_counts()
    patterns, multiplicity = distinct_rows(counts)
    assert len(patterns) < len(counts) // 2  # the point: far fewer patterns than items
    ci = bootstrap_alpha(unit_coincidences(patterns), coded.values, coded.level, 2000, seed=0,
                         multiplicity=multiplicity)
    low, high = _item_by_item(unit_coincidences(counts), coded.values, level, 2000, seed=1)
    assert ci.low == pytest.approx(low, abs=0.02)
    assert ci.high == pytest.approx(high, abs=0.02)
    assert ci.n_resamples == ci.n_valid == 2000


def test_the_human_llm_interval_matches_resampling_item_by_item() -> None:
    frame = _ratings(400, 4, seed=8)
    frame["annotator_kind"] = np.where(frame["annotator"].isin(["a0", "a1"]), "human", "llm")
    human_llm = {g.group: g for g in group_agreement(frame, bootstrap=2000, seed=0)}["human-llm"]
    coded = code_ratings(frame)
    units = cross_coincidences(coded.value_counts(coded.kind_mask("human")),
                               coded.value_counts(coded.kind_mask("llm")))
    low, high = _item_by_item(units, coded.values, "nominal", 2000, seed=1)
    assert human_llm.ci is not None and human_llm.ci.low is not None
    assert human_llm.ci.low == pytest.approx(low, abs=0.02)
    assert human_llm.ci.high == pytest.approx(high, abs=0.02)


def test_the_same_seed_gives_the_same_interval_and_another_seed_another() -> None:
    frame = _ratings(300, 3, seed=2)
    first = krippendorff_alpha(frame, bootstrap=300, seed=7).ci
    assert first == krippendorff_alpha(frame, bootstrap=300, seed=7).ci
    assert first != krippendorff_alpha(frame, bootstrap=300, seed=8).ci


def test_per_item_contributions_and_their_patterns_give_one_distribution() -> None:
    """Passing every item's contribution (deduplicated inside) or the patterns with their
    multiplicities draws from the same distribution."""
    coded = code_ratings(_ratings(500, 3, seed=3))
    counts = coded.value_counts()
    patterns, multiplicity = distinct_rows(counts)
    whole = bootstrap_alpha(unit_coincidences(counts), coded.values, "nominal", 2000, seed=0)
    grouped = bootstrap_alpha(unit_coincidences(patterns), coded.values, "nominal", 2000,
                              seed=1, multiplicity=multiplicity)
    assert whole.low == pytest.approx(grouped.low, abs=0.02)
    assert whole.high == pytest.approx(grouped.high, abs=0.02)


@pytest.mark.parametrize("matrix", [
    np.array([[2, 0], [0, 2], [2, 0], [1, 1], [0, 2], [2, 0]]),
    np.array([[0.5, -0.0], [0.5, 0.0], [1.5, 2.0], [0.5, 0.0]]),  # floats: compared as bytes
    np.array([[10**9, 3], [10**9, 3], [7, 10**9]]),  # too wide for one integer key
], ids=["counts", "floats", "wide"])
def test_distinct_rows_count_every_row_once(matrix: np.ndarray) -> None:
    rows, multiplicity = distinct_rows(matrix)
    assert int(multiplicity.sum()) == len(matrix)
    rebuilt = np.repeat(rows, multiplicity, axis=0)
    assert sorted(map(tuple, rebuilt.tolist())) == sorted(map(tuple, matrix.tolist()))
    for row, times in zip(rows, multiplicity, strict=True):
        assert int((matrix == row).all(axis=1).sum()) == times or row.dtype.kind == "f"


def test_a_single_pairable_item_has_no_interval() -> None:
    units = unit_coincidences(np.array([[1, 1], [1, 0]]))
    ci = bootstrap_alpha(units, np.array([0.0, 1.0]), "nominal", 100)
    assert ci.low is None and ci.reason == "fewer than two pairable items"
