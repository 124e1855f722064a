"""The bootstrap's fast paths equal the plain ones they replace, on random ratings (several
seeds, missing answers, repeated draws of an item)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from annotate.agreement.competence import _resample
from annotate.agreement.dawid_skene import dawid_skene_of_coded, reliability_of_coded
from annotate.agreement.table import code_ratings


def ratings(seed: int, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    items = np.repeat(np.arange(n), 3)
    annotators = np.array(["ann", "bea", "gpt"])[np.arange(3 * n) % 3]
    labels = rng.choice(["x", "y", "z"], 3 * n)
    keep = rng.random(3 * n) < 0.7
    return pd.DataFrame({"item_id": items.astype(str), "annotator": annotators,
                         "label": labels})[keep]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_resample_takes_every_drawn_items_ratings_in_order(seed: int) -> None:
    coded = code_ratings(ratings(seed), "nominal")
    rng = np.random.default_rng(seed)
    order = np.argsort(coded.item_codes, kind="stable")
    starts = np.searchsorted(coded.item_codes[order], np.arange(coded.n_items + 1))
    draw = rng.integers(0, coded.n_items, 500)
    fast = _resample(coded, draw, order, starts)
    rows = np.concatenate([order[starts[i]:starts[i + 1]] for i in draw])
    np.testing.assert_array_equal(fast.annotator_codes, coded.annotator_codes[rows])
    np.testing.assert_array_equal(fast.label_codes, coded.label_codes[rows])
    lengths = [starts[i + 1] - starts[i] for i in draw]
    np.testing.assert_array_equal(fast.item_codes, np.repeat(np.arange(len(draw)), lengths))
    assert fast.n_items == len(draw)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reliability_of_coded_is_the_fits_reliability(seed: int) -> None:
    coded = code_ratings(ratings(seed), "nominal")
    fit = dawid_skene_of_coded(coded, max_iter=50, tol=1e-4)
    by_name = fit.annotators.set_index("annotator")["reliability"]
    expected = [by_name[a] for a in coded.annotators]
    assert list(reliability_of_coded(coded, max_iter=50, tol=1e-4)) == expected


@pytest.mark.parametrize("seed", [0, 1])
def test_competence_on_a_shared_fit_is_the_same(seed: int) -> None:
    from annotate.agreement.competence import annotator_competence

    frame = ratings(seed)
    coded = code_ratings(frame, "nominal")
    shared = annotator_competence(frame, n_resamples=30, seed=seed,
                                  fitted=(coded, dawid_skene_of_coded(coded)))
    alone = annotator_competence(frame, n_resamples=30, seed=seed)
    pd.testing.assert_frame_equal(shared.table, alone.table)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_vote_counts_are_crosstabs(seed: int) -> None:
    from annotate.agreement.aggregate import _vote_counts

    frame = ratings(seed, n=200)
    frame = frame.assign(item_id=frame["item_id"].astype("string[pyarrow]" if seed % 2
                                                          else object))
    labels = frame["label"].astype(str)
    pd.testing.assert_frame_equal(_vote_counts(frame["item_id"], labels),
                                  pd.crosstab(frame["item_id"], labels))
