"""Percent agreement, Cohen's kappa and Fleiss' kappa against published values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from annotate.agreement import agreement_summary, cohen_kappa, fleiss_kappa, percent_agreement
from annotate.agreement.kappa import Weights, fleiss_kappa_of_counts, kappa_of_codes
from tests.agreement.agreement_data import ANXIETY, FLEISS_1971, long_frame, matrix_frame


def test_fleiss_1971_diagnoses() -> None:
    result = fleiss_kappa(matrix_frame(FLEISS_1971))
    assert result.value == pytest.approx(0.4302445, abs=1e-7)
    assert round(result.value, 3) == 0.430
    assert result.n_items == 30


def test_fleiss_with_unequal_ratings_per_item_says_so() -> None:
    frame = matrix_frame(FLEISS_1971)
    frame = frame.drop(index=frame.index[0])  # subject 0 now has 5 ratings
    result = fleiss_kappa(frame)
    assert result.value is None
    assert result.reason is not None
    assert "same number of times" in result.reason
    assert "1 with 5; 29 with 6" in result.reason


def _table_frame(table: dict[tuple[str, str], int]) -> pd.DataFrame:
    """A 2-rater contingency table as long-form rows."""
    rows, item = [], 0
    for (a, b), n in table.items():
        for _ in range(n):
            rows += [(item, "A", a), (item, "B", b)]
            item += 1
    return pd.DataFrame(rows, columns=["item_id", "annotator", "label"])


def test_cohen_textbook_example() -> None:
    # 50 grant proposals read by two readers (the standard textbook / Wikipedia example):
    # both yes 20, A yes B no 5, A no B yes 10, both no 15 -> p_o = .70, p_e = .50, kappa = .40
    frame = _table_frame({("yes", "yes"): 20, ("yes", "no"): 5, ("no", "yes"): 10,
                          ("no", "no"): 15})
    result = cohen_kappa(frame)
    assert result.value == pytest.approx(0.4)
    assert result.n_items == 50
    assert result.annotators == ("A", "B")
    assert percent_agreement(frame).value == pytest.approx(0.7)


def test_cohen_sas_example() -> None:
    # SAS PROC FREQ example (statsmodels' test table10): simple kappa 0.4842
    table = [[0, 4, 1], [0, 8, 0], [0, 1, 5]]
    cells = {(str(i), str(j)): n for i, row in enumerate(table) for j, n in enumerate(row) if n}
    assert cohen_kappa(_table_frame(cells)).value == pytest.approx(0.4842, abs=5e-5)


@pytest.mark.parametrize(("weights", "expected"), [
    (None, -0.006289308), ("linear", 0.1459075), ("quadratic", 0.2520325)])
def test_cohen_weighted_matches_r_irr_on_the_anxiety_data(weights: Weights,
                                                          expected: float) -> None:
    frame = long_frame({"rater2": list(ANXIETY[:, 1]), "rater3": list(ANXIETY[:, 2])})
    result = cohen_kappa(frame, weights=weights)
    assert result.value == pytest.approx(expected, abs=1e-6)
    assert result.weights == weights


def test_cohen_needs_two_annotators() -> None:
    result = cohen_kappa(matrix_frame(FLEISS_1971))
    assert result.value is None
    assert result.reason == "Cohen's kappa needs exactly two annotators; found 6"


def test_cohen_on_a_named_pair_of_a_larger_table() -> None:
    frame = long_frame({"r1": list(ANXIETY[:, 0]), "r2": list(ANXIETY[:, 1]),
                        "r3": list(ANXIETY[:, 2])})
    assert cohen_kappa(frame, annotators=("r2", "r3")).value == pytest.approx(-0.006289308)


def test_weighted_kappa_on_text_labels_needs_an_order() -> None:
    frame = long_frame({"a": ["low", "high", "mid"], "b": ["low", "mid", "mid"]})
    missing = cohen_kappa(frame, weights="linear")
    assert missing.value is None and missing.reason is not None and "order" in missing.reason
    ordered = cohen_kappa(frame, weights="linear", order=["low", "mid", "high"])
    assert ordered.value is not None


def test_cohen_one_category_is_undefined_not_nan() -> None:
    frame = long_frame({"a": ["x", "x"], "b": ["x", "x"]})
    result = cohen_kappa(frame)
    assert result.value is None and result.reason is not None


def test_percent_agreement_counts_pairs() -> None:
    # item 0: 3 ratings, 1 agreeing pair of 3; item 1: 2 ratings agreeing; item 2: single
    frame = long_frame({"a": ["x", "y", "z"], "b": ["x", "y", None], "c": ["w", None, None]})
    result = percent_agreement(frame)
    assert result.value == pytest.approx(2 / 4)
    assert result.n_pairs == 4 and result.n_items == 2


def test_summary_nulls_what_does_not_apply_and_says_why() -> None:
    summary = agreement_summary(matrix_frame(FLEISS_1971)).as_json()
    assert summary["cohen_kappa"] is None
    assert summary["fleiss_kappa"] == pytest.approx(0.4302445)
    assert summary["n_items"] == 30 and summary["n_annotators"] == 6
    assert any(note.startswith("cohen_kappa:") for note in summary["notes"])
    assert "ci" not in summary


def test_summary_with_two_annotators_at_ordinal_level_uses_linear_weights() -> None:
    frame = long_frame({"rater2": list(ANXIETY[:, 1]), "rater3": list(ANXIETY[:, 2])})
    summary = agreement_summary(frame, "ordinal", bootstrap=200).as_json()
    assert summary["cohen_kappa"] == pytest.approx(0.1459075, abs=1e-6)
    assert summary["cohen_kappa_weights"] == "linear"
    assert summary["ci"]["statistic"] == "alpha"
    assert summary["ci"]["n_resamples"] == 200


def _random_pair(seed: int, n: int = 400, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, k, n)
    b = np.where(rng.random(n) < 0.6, a, rng.integers(0, k - 1, n))  # b never uses the top one
    return a, b


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cohen_kappa_is_scikit_learns_to_the_last_bit(weights: Weights, seed: int) -> None:
    from sklearn.metrics import cohen_kappa_score

    a, b = _random_pair(seed)
    labels = np.arange(5) if weights is not None else np.union1d(a, b)
    mine = kappa_of_codes(a, b, 5, weights, ("A", "B"))
    assert mine.value == float(cohen_kappa_score(a, b, labels=labels, weights=weights))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fleiss_kappa_is_statsmodels_to_the_last_bit(seed: int) -> None:
    from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

    rng = np.random.default_rng(seed)
    counts = rng.multinomial(4, [0.5, 0.3, 0.15, 0.05], size=300)
    assert fleiss_kappa_of_counts(counts) == float(statsmodels_fleiss(counts, method="fleiss"))
