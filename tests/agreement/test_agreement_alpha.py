"""Krippendorff's alpha: the published worked example, text labels, degenerate data, bootstrap."""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
import pytest

from annotate.agreement import krippendorff_alpha
from annotate.agreement.bootstrap import bootstrap_alpha
from annotate.agreement.coincidence import (
    alpha_from_coincidences,
    cross_coincidences,
    unit_coincidences,
)
from annotate.agreement.table import code_ratings
from annotate.errors import InvalidInput
from tests.agreement.agreement_data import KRIPPENDORFF_2011, long_frame

PUBLISHED = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}
WORDS = {1: "very low", 2: "low", 3: "mid", 4: "high", 5: "very high"}


@pytest.mark.parametrize("level", list(PUBLISHED))
def test_krippendorff_2011_worked_example(level: str) -> None:
    result = krippendorff_alpha(long_frame(KRIPPENDORFF_2011), level)
    assert result.value == pytest.approx(PUBLISHED[level], abs=5e-4)
    assert result.reason is None
    assert result.n_items == 12
    assert result.n_pairable_items == 11  # unit 12 has a single rating and is ignored
    assert result.n_pairable_values == 40
    assert result.n_annotators == 4


def test_nominal_observed_and_expected_disagreement_match_the_paper() -> None:
    result = krippendorff_alpha(long_frame(KRIPPENDORFF_2011), "nominal")
    # The paper's coincidence matrix: 8 of the n = 40 pairable values sit off the diagonal.
    assert result.observed_disagreement == pytest.approx(0.2)
    assert result.value == pytest.approx(1 - 0.2 / result.expected_disagreement)


def test_text_labels_with_an_explicit_order_reproduce_the_ordinal_value() -> None:
    words = {a: [WORDS[v] if v is not None else None for v in vs]
             for a, vs in KRIPPENDORFF_2011.items()}
    frame = long_frame(words)
    order = [WORDS[k] for k in sorted(WORDS)]
    assert krippendorff_alpha(frame, "ordinal", order).value == pytest.approx(0.815, abs=5e-4)
    assert krippendorff_alpha(frame, "nominal").value == pytest.approx(0.743, abs=5e-4)
    interval = krippendorff_alpha(frame, "interval", order)
    assert interval.value == pytest.approx(0.849, abs=5e-4)  # positions 1..5 = the numbers
    assert any("positions" in note for note in interval.notes)


def test_ordinal_text_labels_without_an_order_is_a_clear_error() -> None:
    frame = pd.DataFrame({"item_id": [1, 1], "annotator": ["a", "b"], "label": ["low", "high"]})
    with pytest.raises(InvalidInput, match="order"):
        krippendorff_alpha(frame, "ordinal")


def test_labels_outside_the_order_are_named() -> None:
    frame = pd.DataFrame({"item_id": [1, 1], "annotator": ["a", "b"], "label": ["low", "huge"]})
    with pytest.raises(InvalidInput, match="huge"):
        krippendorff_alpha(frame, "ordinal", ["low", "high"])


def test_unobserved_categories_in_the_order_do_not_change_ordinal_alpha() -> None:
    frame = long_frame(KRIPPENDORFF_2011)
    wide = krippendorff_alpha(frame, "ordinal", [0, 1, 2, 3, 4, 5, 6])
    assert wide.value == pytest.approx(krippendorff_alpha(frame, "ordinal").value)


def test_ratio_level_rejects_negative_values() -> None:
    frame = pd.DataFrame({"item_id": [1, 1], "annotator": ["a", "b"], "label": [-1, 2]})
    with pytest.raises(InvalidInput, match="non-negative"):
        krippendorff_alpha(frame, "ratio")


def test_numbers_given_as_text_are_read_as_numbers_for_interval() -> None:
    frame = long_frame({a: [str(v) if v is not None else None for v in vs]
                        for a, vs in KRIPPENDORFF_2011.items()})
    assert krippendorff_alpha(frame, "interval").value == pytest.approx(0.849, abs=5e-4)


def test_one_category_only_is_a_defined_result_with_a_reason() -> None:
    frame = long_frame({"a": ["x", "x", "x"], "b": ["x", "x", None]})
    result = krippendorff_alpha(frame, "nominal", bootstrap=50)
    assert result.value is None
    assert result.reason is not None and "one category" in result.reason
    assert result.ci is None


def test_no_pairable_values_is_a_defined_result_with_a_reason() -> None:
    frame = long_frame({"a": ["x", None, "y"], "b": [None, "y", None]})
    result = krippendorff_alpha(frame)
    assert result.value is None
    assert result.reason is not None and "no pairable values" in result.reason
    assert result.n_pairable_items == 0


def test_empty_labels_and_decision_rows_are_not_annotations() -> None:
    frame = long_frame(KRIPPENDORFF_2011)
    extra = pd.DataFrame({"item_id": [0, 1, 2], "annotator": ["E", "mod", "adj"],
                          "label": [None, 5, 1], "role": [None, "moderator", "adjudicator"]})
    result = krippendorff_alpha(pd.concat([frame, extra], ignore_index=True), "interval")
    assert result.value == pytest.approx(0.849, abs=5e-4)


def test_a_repeated_judgement_is_rejected() -> None:
    frame = pd.DataFrame({"item_id": [1, 1, 1], "annotator": ["a", "a", "b"],
                          "label": ["x", "y", "x"]})
    with pytest.raises(InvalidInput, match="repeat"):
        krippendorff_alpha(frame)


def test_missing_columns_are_named() -> None:
    with pytest.raises(InvalidInput, match="label"):
        krippendorff_alpha(pd.DataFrame({"item_id": [1], "annotator": ["a"]}))


@pytest.mark.parametrize("level", list(PUBLISHED))
def test_vectorised_coincidence_alpha_matches_the_package(level: str) -> None:
    rng = np.random.default_rng(7)
    data = rng.integers(1, 6, size=(4, 60)).astype(float)
    data[rng.random(data.shape) < 0.25] = np.nan
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    frame = long_frame({f"c{i}": [None if np.isnan(v) else v for v in row]
                        for i, row in enumerate(data)})
    coded = code_ratings(frame, level)
    mine = alpha_from_coincidences(unit_coincidences(coded.value_counts()).sum(axis=0),
                                   coded.values, level)
    assert float(mine) == pytest.approx(expected)
    assert krippendorff_alpha(frame, level).value == pytest.approx(expected)


def test_cross_coincidences_of_two_coders_are_two_coder_alpha() -> None:
    frame = long_frame({k: KRIPPENDORFF_2011[k] for k in ("B", "D")})
    coded = code_ratings(frame, "interval")
    b = coded.value_counts(coded.annotator_codes == coded.annotators.index("B"))
    d = coded.value_counts(coded.annotator_codes == coded.annotators.index("D"))
    cross = alpha_from_coincidences(cross_coincidences(b, d).sum(axis=0), coded.values,
                                    "interval")
    assert float(cross) == pytest.approx(krippendorff_alpha(frame, "interval").value)


def test_bootstrap_is_seeded_and_brackets_the_estimate() -> None:
    frame = long_frame(KRIPPENDORFF_2011)
    first = krippendorff_alpha(frame, "interval", bootstrap=500, seed=3)
    again = krippendorff_alpha(frame, "interval", bootstrap=500, seed=3)
    other = krippendorff_alpha(frame, "interval", bootstrap=500, seed=4)
    assert first.ci == again.ci
    assert first.ci != other.ci
    assert first.ci is not None and first.ci.low is not None and first.ci.high is not None
    assert first.ci.low <= first.value <= first.ci.high <= 1.0
    assert first.ci.n_resamples == 500 and first.ci.n_valid <= 500


def _synthetic(n_items: int, n_annotators: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 5, n_items)
    labels = np.where(rng.random((n_items, n_annotators)) < 0.7, truth[:, None],
                      rng.integers(0, 5, (n_items, n_annotators)))
    return pd.DataFrame({"item_id": np.repeat(np.arange(n_items), n_annotators),
                         "annotator": np.tile(np.arange(n_annotators), n_items),
                         "label": labels.ravel()})


def test_bootstrap_ci_is_close_to_a_naive_bootstrap() -> None:
    frame = _synthetic(300, 3, seed=1)
    coded = code_ratings(frame, "nominal")
    counts = coded.value_counts()
    ci = bootstrap_alpha(unit_coincidences(counts), coded.values, "nominal", 400, seed=0)
    rng = np.random.default_rng(99)
    naive = [krippendorff.alpha(value_counts=counts[rng.integers(0, len(counts), len(counts))],
                                level_of_measurement="nominal") for _ in range(400)]
    low, high = np.quantile(naive, [0.025, 0.975])
    assert ci.low == pytest.approx(low, abs=0.03)
    assert ci.high == pytest.approx(high, abs=0.03)


@pytest.mark.parametrize("level", ["nominal", "ordinal"])
def test_bootstrap_1000_resamples_of_10k_items_by_3_annotators(level: str) -> None:
    # Its speed (goal: under 3 s) is measured in benchmarks/agreement.py, never asserted here.
    coded = code_ratings(_synthetic(10_000, 3), level)
    units = unit_coincidences(coded.value_counts())
    ci = bootstrap_alpha(units, coded.values, level, 1000, seed=0)
    assert ci.n_valid == 1000
    assert ci.low is not None and ci.high is not None and ci.low <= ci.high
