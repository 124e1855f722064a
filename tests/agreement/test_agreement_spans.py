"""Span comparison: one hand-made case per taxonomy bucket, then the scores."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from annotate.agreement import compare_spans, match_spans
from annotate.agreement.spans import Span
from annotate.errors import InvalidInput
from tests.agreement.agreement_data import SHARED_DATA

TEXT = "Герольд Кемпинг посетил компанию «Газпром» в Москве."
PER = {"start": 0, "end": 15, "label": "PER"}  # "Герольд Кемпинг"
ORG = {"start": 24, "end": 42, "label": "ORG"}  # "компанию «Газпром»"
LOC = {"start": 45, "end": 51, "label": "LOC"}  # "Москве"


def outcomes(reference: list[dict[str, object]], predicted: list[dict[str, object]]
             ) -> list[str]:
    return [m.outcome for m in match_spans(reference, predicted)]


def test_offsets_are_the_mentions() -> None:
    assert TEXT[0:15] == "Герольд Кемпинг"
    assert TEXT[24:42] == "компанию «Газпром»"
    assert TEXT[45:51] == "Москве"


def test_exact_match() -> None:
    assert outcomes([PER], [dict(PER)]) == ["exact"]


def test_type_confusion_is_the_same_span_with_another_label() -> None:
    [match] = match_spans([PER], [{**PER, "label": "ORG"}])
    assert match.outcome == "type_confusion"
    assert match.reference == Span(0, 15, "PER") and match.predicted == Span(0, 15, "ORG")


def test_over_extended_prediction_strictly_contains_the_reference() -> None:
    # "Газпром" in the reference; the prediction takes the descriptor and the quotes too
    assert outcomes([{"start": 34, "end": 41, "label": "ORG"}], [ORG]) == ["over_extended"]
    # sharing one boundary is still strict containment
    assert outcomes([{"start": 8, "end": 15, "label": "PER"}], [PER]) == ["over_extended"]


def test_under_extended_prediction_lies_inside_the_reference() -> None:
    assert outcomes([PER], [{"start": 8, "end": 15, "label": "PER"}]) == ["under_extended"]


def test_crossing_spans_overlap_with_a_part_outside_each_other() -> None:
    assert outcomes([PER], [{"start": 8, "end": 23, "label": "PER"}]) == ["crossing"]


def test_missed_reference_has_no_overlapping_prediction() -> None:
    assert outcomes([PER, LOC], [PER]) == ["exact", "missed"]


def test_spurious_prediction_overlaps_no_reference() -> None:
    assert outcomes([PER], [PER, LOC]) == ["exact", "spurious"]


def test_a_second_prediction_on_a_matched_reference_is_extra_overlap() -> None:
    split = [{"start": 0, "end": 7, "label": "PER"}, {"start": 8, "end": 15, "label": "PER"}]
    assert sorted(outcomes([PER], split)) == ["extra_overlap", "under_extended"]


def test_matching_prefers_exact_then_same_label_then_larger_overlap() -> None:
    reference = [PER]
    predicted = [{"start": 0, "end": 10, "label": "ORG"}, {"start": 0, "end": 5, "label": "PER"}]
    matches = match_spans(reference, predicted)
    kept = next(m for m in matches if m.reference is not None)
    assert kept.predicted == Span(0, 5, "PER") and kept.same_label
    assert sorted(m.outcome for m in matches) == ["extra_overlap", "under_extended"]


def test_boundary_error_with_another_label_keeps_its_bucket_and_flags_the_label() -> None:
    [match] = match_spans([{"start": 34, "end": 41, "label": "ORG"}],
                          [{"start": 24, "end": 42, "label": "LOC"}])
    assert match.outcome == "over_extended" and not match.same_label


def test_scores_exact_and_partial_per_label() -> None:
    pairs = [
        ("s1", [PER, ORG, LOC], [PER, {"start": 34, "end": 42, "label": "ORG"}]),
        ("s2", [PER], [{**PER, "label": "ORG"}, {"start": 20, "end": 22, "label": "LOC"}]),
    ]
    result = compare_spans(pairs)
    assert result.counts == {"exact": 1, "type_confusion": 1, "over_extended": 0,
                             "under_extended": 1, "crossing": 0, "missed": 1,
                             "spurious": 1, "extra_overlap": 0}
    overall = result.overall
    assert (overall.n_reference, overall.n_predicted) == (4, 4)
    assert overall.exact == (pytest.approx(0.25), pytest.approx(0.25), pytest.approx(0.25))
    assert overall.partial[0] == pytest.approx(0.5) and overall.partial[1] == pytest.approx(0.5)
    per = {s.label: s for s in result.per_label}
    assert per["PER"].exact == (pytest.approx(1.0), pytest.approx(0.5), pytest.approx(2 / 3))
    assert per["ORG"].n_predicted == 2 and per["ORG"].partial_tp == 1
    assert per["LOC"].outcomes["missed"] == 1 and per["LOC"].outcomes["spurious"] == 1
    assert result.rates["missed"] == pytest.approx(0.25)
    assert result.rates["spurious"] == pytest.approx(0.25)
    confusions = result.type_confusions()
    assert confusions.to_dict("records") == [
        {"reference_label": "PER", "predicted_label": "ORG", "count": 1}]


def test_frame_input_and_empty_items() -> None:
    frame = pd.DataFrame({"item_id": ["a", "b"], "reference": [[PER], []],
                          "predicted": [[], []]})
    result = compare_spans(frame)
    assert result.counts["missed"] == 1
    assert result.overall.exact == (None, 0.0, None)
    assert len(result.matches_frame()) == 1


@pytest.mark.parametrize("bad", [{"start": 5, "end": 5, "label": "X"},
                                 {"start": "0", "end": 3, "label": "X"}, {"start": 0}])
def test_malformed_spans_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        match_spans([bad], [])


def test_factrueval_gold_against_itself_and_against_a_lossy_copy() -> None:
    path = SHARED_DATA / "factrueval2016_ner" / "factrueval2016_ner_dev.jsonl"
    if not path.exists():
        pytest.skip("factRuEval-2016 dev data not present")
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    same = compare_spans((r["id"], r["spans"], r["spans"]) for r in records)
    assert same.overall.n_reference == 3818  # the README's count of entity mentions
    assert same.counts["exact"] == 3818 and same.overall.exact[2] == pytest.approx(1.0)
    lossy = compare_spans((r["id"], r["spans"], r["spans"][1:]) for r in records)
    dropped = sum(1 for r in records if r["spans"])
    assert lossy.counts["missed"] == dropped  # exact matches are taken first
    assert lossy.counts["exact"] == 3818 - dropped
    assert lossy.rates["missed"] == pytest.approx(dropped / 3818)
