"""Properties of alpha that must hold for any data (hypothesis)."""

from __future__ import annotations

import random

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotate.agreement import krippendorff_alpha

LEVELS = ["nominal", "ordinal", "interval", "ratio"]


@st.composite
def ratings(draw: st.DrawFn, max_label: int = 5) -> pd.DataFrame:
    """A long-form frame: 2-15 items, 2-5 annotators, labels 1..max_label, some missing."""
    n_items = draw(st.integers(2, 15))
    n_annotators = draw(st.integers(2, 5))
    cells = draw(st.lists(st.one_of(st.none(), st.integers(1, max_label)),
                          min_size=n_items * n_annotators, max_size=n_items * n_annotators))
    rows = [(f"i{i}", f"a{j}", cells[i * n_annotators + j])
            for i in range(n_items) for j in range(n_annotators)
            if cells[i * n_annotators + j] is not None]
    return pd.DataFrame(rows, columns=["item_id", "annotator", "label"])


@settings(max_examples=60, deadline=None)
@given(truth=st.lists(st.integers(1, 6), min_size=2, max_size=20).filter(lambda t: len(set(t)) > 1),
       n_annotators=st.integers(2, 5), level=st.sampled_from(LEVELS), data=st.data())
def test_perfect_agreement_with_variation_gives_one(truth: list[int], n_annotators: int,
                                                    level: str, data: st.DataObject) -> None:
    drop = data.draw(st.lists(st.integers(0, n_annotators - 1), min_size=len(truth),
                              max_size=len(truth)))
    rows = [(i, f"a{j}", label) for i, label in enumerate(truth) for j in range(n_annotators)
            if not (j == drop[i] and n_annotators > 2)]  # some missing, every item still pairable
    result = krippendorff_alpha(pd.DataFrame(rows, columns=["item_id", "annotator", "label"]),
                                level)
    assert result.value == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(frame=ratings(), level=st.sampled_from(LEVELS), seed=st.integers(0, 10_000))
def test_alpha_is_symmetric_in_annotators(frame: pd.DataFrame, level: str, seed: int) -> None:
    rng = random.Random(seed)
    names = sorted(frame["annotator"].unique())
    shuffled = names[:]
    rng.shuffle(shuffled)
    renamed = frame.assign(annotator=frame["annotator"].map(dict(zip(names, shuffled,
                                                                     strict=True))))
    renamed = renamed.sample(frac=1.0, random_state=seed)  # row order does not matter either
    before, after = krippendorff_alpha(frame, level), krippendorff_alpha(renamed, level)
    assert before.reason == after.reason
    if before.value is None:
        assert after.value is None
    else:
        assert after.value == pytest.approx(before.value)


@settings(max_examples=60, deadline=None)
@given(frame=ratings(), seed=st.integers(0, 10_000))
def test_nominal_alpha_is_invariant_to_renaming_labels(frame: pd.DataFrame, seed: int) -> None:
    labels = sorted(frame["label"].unique())
    names = [f"label-{n}" for n in range(len(labels))]
    random.Random(seed).shuffle(names)
    renamed = frame.assign(label=frame["label"].map(dict(zip(labels, names, strict=True))))
    before, after = krippendorff_alpha(frame), krippendorff_alpha(renamed)
    if before.value is None:
        assert after.value is None and after.reason == before.reason
    else:
        assert after.value == pytest.approx(before.value)


@settings(max_examples=40, deadline=None)
@given(frame=ratings(), level=st.sampled_from(LEVELS))
def test_alpha_is_defined_or_explained_never_nan(frame: pd.DataFrame, level: str) -> None:
    result = krippendorff_alpha(frame, level, bootstrap=20)
    if result.value is None:
        assert result.reason
    else:
        assert result.value <= 1.0 + 1e-9
        assert result.ci is not None
