"""Values <-> Label Studio results for every kind (no server needed)."""

from __future__ import annotations

from typing import Any

import pytest

from annotate.errors import InvalidInput
from annotate.integrations.labelstudio.config import labeling_config
from annotate.integrations.labelstudio.convert import (
    LabelStudioCheck,
    from_result,
    from_utf16,
    task_data,
    to_result,
    to_utf16,
)
from annotate.kinds.schema import LabelSchema, RatingFeature
from tests.labelstudio.test_config import SCHEMAS

TEXT = "Анна Петрова работает в «Газпроме» 😀, а Иван — в МИД России."

VALUES: dict[str, dict[str, Any]] = {
    "classification": {"label": "neg"},
    "multilabel": {"labels": ["toxic", "spam"]},
    "spans": {"spans": [
        {"start": 0, "end": 12, "label": "PER", "text": "Анна Петрова"},
        {"start": 25, "end": 33, "label": "ORG", "text": "Газпроме"},
        {"start": 40, "end": 44, "label": "PER", "text": "Иван"},
        {"start": 49, "end": 52, "label": "ORG", "text": "МИД"},
        {"start": 49, "end": 59, "label": "ORG", "text": "МИД России"},
        {"start": 53, "end": 59, "label": "LOCORG", "text": "России"},
    ]},
    "rating": {"ratings": {"fluency": 4, "on topic": "partly"}},
    "choice": {"choice": "response2"},
    "choice3": {"choice": "c"},
    "text": {"text": "Краткий пересказ.", "edited": False},
}


@pytest.mark.parametrize("kind", sorted(VALUES))
def test_round_trip_gives_back_the_value(kind: str) -> None:
    schema = SCHEMAS[kind]
    result = to_result(schema, VALUES[kind], TEXT)
    assert from_result(schema, result, TEXT) == VALUES[kind]


@pytest.mark.parametrize("kind", sorted(VALUES))
def test_label_studios_own_check_accepts_every_result(kind: str) -> None:
    """The SDK's LabelInterface: the check the server runs before it stores a prediction."""
    check = LabelStudioCheck(labeling_config(SCHEMAS[kind]))
    assert check.errors(to_result(SCHEMAS[kind], VALUES[kind], TEXT)) == []
    if kind == "choice":
        assert check.errors(to_result(SCHEMAS[kind], {"choice": "tie"}, TEXT)) == []


def test_label_studios_own_check_refuses_a_foreign_control() -> None:
    check = LabelStudioCheck(labeling_config(SCHEMAS["classification"]))
    foreign = [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                "value": {"choices": ["pos"]}}]
    with pytest.raises(InvalidInput, match="Label Studio would refuse the result"):
        check.check(foreign)


def test_spans_after_an_emoji_move_by_one_utf16_unit() -> None:
    result = to_result(SCHEMAS["spans"], VALUES["spans"], TEXT)
    by_text = {r["value"]["text"]: r["value"] for r in result}
    assert (by_text["Газпроме"]["start"], by_text["Газпроме"]["end"]) == (25, 33)  # before 😀
    assert (by_text["Иван"]["start"], by_text["Иван"]["end"]) == (41, 45)  # after: +1
    assert TEXT[40:44] == "Иван"


def test_utf16_offsets_convert_both_ways() -> None:
    for index in range(len(TEXT) + 1):
        assert from_utf16(TEXT, to_utf16(TEXT, index)) == index
    emoji_at = TEXT.index("😀")
    with pytest.raises(InvalidInput, match="inside a character"):
        from_utf16(TEXT, to_utf16(TEXT, emoji_at) + 1)
    with pytest.raises(InvalidInput, match="beyond the end"):
        from_utf16(TEXT, 10_000)


def test_span_results_carry_labels_and_unique_ids() -> None:
    result = to_result(SCHEMAS["spans"], VALUES["spans"], TEXT)
    assert {r["type"] for r in result} == {"labels"}
    assert len({r["id"] for r in result}) == len(result)


def test_a_region_with_two_labels_becomes_two_spans() -> None:
    result = [{"from_name": "label", "to_name": "text", "type": "labels",  # UTF-16 offsets
               "value": {"start": 50, "end": 60, "text": "МИД России", "labels": ["ORG", "LOC"]}}]
    got = from_result(SCHEMAS["spans"], result, TEXT)
    assert [(s["start"], s["end"], s["label"]) for s in got["spans"]] == [
        (49, 59, "LOC"), (49, 59, "ORG")]


def test_span_quoting_other_text_is_rejected() -> None:
    result = [{"from_name": "label", "to_name": "text", "type": "labels",
               "value": {"start": 0, "end": 4, "text": "Иван", "labels": ["PER"]}}]
    with pytest.raises(InvalidInput, match="quotes"):
        from_result(SCHEMAS["spans"], result, TEXT)


@pytest.mark.parametrize("kind, value, message", [
    ("classification", {"label": "unknown"}, "not in the schema"),
    ("spans", {"spans": [{"start": 0, "end": 4, "label": "DATE"}]}, "not in the schema"),
    ("rating", {"ratings": {"fluency": 9, "on topic": "yes"}}, "not on its scale"),
    ("choice", {"choice": "response3"}, "is not one of"),
])
def test_an_invalid_value_is_never_turned_into_a_result(kind: str, value: dict[str, Any],
                                                        message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        to_result(SCHEMAS[kind], value, TEXT)


@pytest.mark.parametrize("kind, result, message", [
    ("classification", [{"from_name": "label", "type": "choices",
                         "value": {"choices": ["pos", "neg"]}}], "exactly one label"),
    ("classification", [{"from_name": "label", "type": "choices",
                         "value": {"choices": ["other"]}}], "not in the schema"),
    ("classification", [{"from_name": "sentiment", "type": "choices",
                         "value": {"choices": ["pos"]}}], "unknown control"),
    ("classification", [{"from_name": "label", "type": "labels", "value": {}}], "expected"),
    ("spans", [{"from_name": "label", "type": "labels", "value": {"labels": ["PER"]}}],
     "no start/end"),
    ("rating", [{"from_name": "rating_fluency", "type": "rating", "value": {"rating": 3}}],
     "missing rating"),
    ("choice", [{"from_name": "choice", "type": "pairwise", "value": {"selected": "left"}},
                {"from_name": "tie", "type": "choices", "value": {"choices": ["tie"]}}],
     "a side and a tie"),
    ("choice", [], "one side"),
    ("text", [{"from_name": "answer", "type": "textarea", "value": {"text": [" "]}}], "empty"),
])
def test_results_label_studio_would_accept_but_we_do_not(kind: str, result: list[Any],
                                                         message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        from_result(SCHEMAS[kind], result, TEXT)


def test_pairwise_sides_and_tie() -> None:
    schema = SCHEMAS["choice"]
    left = to_result(schema, {"choice": "response1"}, TEXT)
    assert left[0]["value"] == {"selected": "left"}
    assert to_result(schema, {"choice": "tie"}, TEXT)[0]["from_name"] == "tie"
    assert from_result(schema, to_result(schema, {"choice": "tie"}, TEXT), TEXT) == {
        "choice": "tie"}


def test_empty_multilabel_is_an_empty_result() -> None:
    assert to_result(SCHEMAS["multilabel"], {"labels": []}, TEXT) == []
    assert from_result(SCHEMAS["multilabel"], [], TEXT) == {"labels": []}


def test_text_answer_names_the_candidate_it_equals_or_started_from() -> None:
    schema, cands = SCHEMAS["text"], ["Первый вариант.", "Второй вариант."]
    same = to_result(schema, {"text": "Второй вариант."}, TEXT)
    assert from_result(schema, same, TEXT, candidates=cands) == {
        "text": "Второй вариант.", "candidate": 1, "edited": False}
    edited = to_result(schema, {"text": "Второй вариант, правка."}, TEXT)
    assert from_result(schema, edited, TEXT, candidates=cands, started_from=1) == {
        "text": "Второй вариант, правка.", "candidate": 1, "edited": True}


def test_task_data_has_every_field_the_config_reads() -> None:
    choice = task_data(SCHEMAS["choice"], 7, "x7", "Which is better?",
                       {"options": {"response1": "A", "response2": "B"}})
    assert choice == {"text": "Which is better?", "annotate_item_id": 7,
                      "annotate_external_id": "x7", "option_0": "A", "option_1": "B"}
    text = task_data(SCHEMAS["text"], 1, "x1", "Исходный текст", {}, ["один", "два"])
    assert text["candidates"] == "1. один\n\n2. два"
    assert text["candidate_texts"] == ["один", "два"]
    assert task_data(SCHEMAS["text"], 1, "x1", "t", {})["candidates"] == "-"


def test_non_star_rating_scales_go_through_choices() -> None:
    schema = LabelSchema(kind="rating", features=[RatingFeature(name="q", scale=[0, 1, 2])])
    result = to_result(schema, {"ratings": {"q": 0}}, TEXT)
    assert result == [{"from_name": "rating_q", "to_name": "text", "type": "choices",
                       "value": {"choices": ["0"]}}]
    assert from_result(schema, result, TEXT) == {"ratings": {"q": 0}}
