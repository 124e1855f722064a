"""Pairwise agreement and the human-human / human-LLM / LLM-LLM groups."""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
import pytest

from annotate.agreement import (
    agreement_matrix,
    disagreement_examples,
    group_agreement,
    krippendorff_alpha,
    pairwise_agreement,
)
from annotate.agreement.disagreement import examples_frame
from tests.agreement.agreement_data import KRIPPENDORFF_2011, long_frame

KINDS = {"A": "human", "B": "human", "C": "llm", "D": "llm"}


def kinded() -> pd.DataFrame:
    frame = long_frame(KRIPPENDORFF_2011)
    return frame.assign(annotator_kind=frame["annotator"].map(KINDS))


def test_each_pair_is_two_coder_alpha_over_shared_items() -> None:
    frame = long_frame(KRIPPENDORFF_2011)
    pairs = {(p.annotator_a, p.annotator_b): p for p in pairwise_agreement(frame, "interval")}
    assert len(pairs) == 6
    ab = pairs[("A", "B")]
    expected = krippendorff_alpha(frame[frame["annotator"].isin(["A", "B"])], "interval")
    assert ab.alpha == pytest.approx(expected.value)
    assert ab.n_shared_items == 9
    assert ab.percent_agreement == pytest.approx(8 / 9)


def test_matrix_is_symmetric_with_an_empty_diagonal() -> None:
    pairs = pairwise_agreement(long_frame(KRIPPENDORFF_2011), bootstrap=100)
    matrix = agreement_matrix(pairs)
    assert list(matrix.index) == ["A", "B", "C", "D"]
    values = matrix.to_numpy()
    assert np.allclose(values, values.T, equal_nan=True)
    assert np.isnan(np.diag(values)).all()
    assert all(p.ci is not None for p in pairs)
    shared = agreement_matrix(pairs, "n_shared_items")
    assert shared.loc["A", "C"] == 8


def test_groups_within_kind_are_plain_alpha_and_cross_kind_pools_pairs() -> None:
    groups = {g.group: g for g in group_agreement(kinded(), "nominal", bootstrap=200, seed=1)}
    assert set(groups) == {"human-human", "human-llm", "llm-llm"}
    hh = groups["human-human"]
    only_humans = kinded()[kinded()["annotator_kind"] == "human"]
    assert hh.alpha == pytest.approx(krippendorff_alpha(only_humans).value)
    assert hh.n_annotators == 2 and hh.n_shared_items == 9
    hl = groups["human-llm"]
    # every (human, llm) pair on an item as a two-value unit, through the package
    frame = kinded()
    units = []
    for _, item in frame.groupby("item_id"):
        humans = item.loc[item["annotator_kind"] == "human", "label"]
        llms = item.loc[item["annotator_kind"] == "llm", "label"]
        units += [(h, m) for h in humans for m in llms]
    expected = krippendorff.alpha(reliability_data=np.array(units, dtype=float).T,
                                  level_of_measurement="nominal")
    assert hl.alpha == pytest.approx(expected)
    assert hl.n_pairs == len(units)
    assert hl.ci is not None and hl.ci.low is not None


def test_no_kinds_no_groups_and_missing_kind_is_explained() -> None:
    assert group_agreement(long_frame(KRIPPENDORFF_2011)) == []
    humans_only = kinded().assign(annotator_kind="human")
    groups = {g.group: g for g in group_agreement(humans_only)}
    assert groups["llm-llm"].alpha is None and groups["llm-llm"].reason


def test_disagreement_examples_rank_and_carry_every_answer_and_rationale() -> None:
    frame = kinded().assign(rationale=lambda f: "because " + f["label"].astype(str))
    examples = disagreement_examples(frame, top=3, order=[1, 2, 3, 4, 5])
    assert [e.item_id for e in examples] == [5, 1, 7]
    top = examples[0]
    assert top.disagreement == pytest.approx(1.0) and top.spread == 3
    assert top.human_llm_split is True
    assert {a.annotator: a.label for a in top.answers} == {"A": 1, "B": 2, "C": 3, "D": 4}
    assert top.answers[0].rationale == "because 1"
    table = examples_frame(examples)
    assert list(table["rank"]) == [1] * 4 + [2] * 4 + [3] * 4
    unanimous = disagreement_examples(frame, top=50)
    assert all(e.item_id not in (2, 3, 4, 8) for e in unanimous)
