"""Schemas and answer values at their boundaries, with the exact answer or message expected."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from annotate.errors import InvalidInput
from annotate.kinds.schema import (
    MAX_NAME_LENGTH,
    MAX_NAMES,
    MAX_SCALE_POINT,
    LabelSchema,
    RatingFeature,
    check_name,
    comparable,
    parse_schema,
    validate_value,
)

TEXT = "Anna works at Acme."  # 19 characters


def _refused(data: dict[str, Any]) -> str:
    with pytest.raises(InvalidInput) as caught:
        parse_schema(data)
    return str(caught.value)


@pytest.mark.parametrize("name", ["a", "x" * MAX_NAME_LENGTH, "two words", "é\u00a0ß", "~"])
def test_names_that_are_accepted(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize("name, message", [
    ("", "a label must not be empty"),
    (" \t", "a label must not be empty"),
    ("x" * (MAX_NAME_LENGTH + 1),
     "a label is longer than 100 characters: 'xxxxxxxxxxxxxxxxxxxx'..."),
    ("a\x1fb", r"a label must not contain control characters: 'a\x1fb'"),
    ("a\x7fb", r"a label must not contain control characters: 'a\x7fb'"),
    ("a\x9fb", r"a label must not contain control characters: 'a\x9fb'"),
])
def test_names_that_are_refused(name: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_name(name)
    assert str(caught.value) == message


def test_a_name_error_says_what_the_name_is() -> None:
    with pytest.raises(ValueError) as caught:
        check_name(" ", "an option")
    assert str(caught.value) == "an option must not be empty"


def test_repeated_labels_and_options_are_named_once_each_in_order() -> None:
    assert _refused({"kind": "classification", "labels": ["b", "a", "b", "a", "c"]}) == (
        "schema: labels: labels must be unique; repeated: 'a', 'b'")
    assert _refused({"kind": "choice", "options": ["x", "y", "x"]}) == (
        "schema: options: options must be unique; repeated: 'x'")
    assert _refused({"kind": "classification", "labels": ["a", ""]}) == (
        "schema: labels: label must not be empty")


def test_how_many_names_a_schema_may_hold() -> None:
    names = [f"l{n}" for n in range(MAX_NAMES)]
    assert len(parse_schema({"kind": "classification", "labels": names}).labels) == MAX_NAMES
    assert "labels" in _refused({"kind": "classification", "labels": [*names, "extra"]})


def test_rating_scales_at_their_bounds() -> None:
    feature = RatingFeature(name="f", scale=[-MAX_SCALE_POINT, 0, MAX_SCALE_POINT])
    assert feature.scale == [-MAX_SCALE_POINT, 0, MAX_SCALE_POINT]
    assert RatingFeature(name="f", scale=list(range(100))).scale[-1] == 99
    for scale in ([1], list(range(101))):
        with pytest.raises(ValidationError):
            RatingFeature(name="f", scale=scale)
    for point in (MAX_SCALE_POINT + 1, -MAX_SCALE_POINT - 1):
        with pytest.raises(ValidationError, match="out of range"):
            RatingFeature(name="f", scale=[0, point])


@pytest.mark.parametrize("scale, message", [
    ([1, True], "not true/false or decimals"),
    ([1, 2.5], "not true/false or decimals"),
    ([1, "1"], "scale points must be unique"),
    ([1, " "], "a scale point must not be empty"),
])
def test_rating_scales_that_are_refused(scale: list[Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RatingFeature(name="f", scale=scale)


def test_a_feature_needs_a_proper_name_and_a_short_description() -> None:
    with pytest.raises(ValidationError, match="a feature name must not be empty"):
        RatingFeature(name=" ", scale=[1, 2])
    assert RatingFeature(name="f", scale=[1, 2], description="d" * 2000).description
    with pytest.raises(ValidationError):
        RatingFeature(name="f", scale=[1, 2], description="d" * 2001)


@pytest.mark.parametrize("data, message", [
    ({"kind": "classification"}, "schema: a classification schema needs labels"),
    ({"kind": "multilabel"}, "schema: a multilabel schema needs labels"),
    ({"kind": "spans"}, "schema: a spans schema needs labels"),
    ({"kind": "rating"}, "schema: a rating schema needs at least one feature"),
    ({"kind": "rating", "features": [{"name": "f", "scale": [1, 2]},
                                     {"name": "f", "scale": [1, 2]}]},
     "schema: feature names must be unique; repeated: 'f'"),
    ({"kind": "choice", "options": ["a"]},
     "schema: a choice schema needs at least two options"),
    ({"kind": "choice", "options": ["a", "tie"]},
     "schema: option 'tie' is reserved for ties (or set allow_tie: false)"),
    ({"kind": "text", "max_text_length": True},
     "schema: max_text_length: must be a number, not true/false"),
    ({"kind": "text", "max_text_length": 0},
     "schema: max_text_length: Input should be greater than or equal to 1"),
    ({"kind": "text", "max_text_length": 1_000_001},
     "schema: max_text_length: Input should be less than or equal to 1000000"),
])
def test_schemas_that_are_refused(data: dict[str, Any], message: str) -> None:
    assert _refused(data) == message


def test_schemas_at_the_edge_of_what_is_allowed() -> None:
    assert parse_schema({"kind": "choice", "options": ["a", "tie"],
                         "allow_tie": False}).choices() == ["a", "tie"]
    assert parse_schema({"kind": "choice", "options": ["a", "b"]}).choices() == ["a", "b", "tie"]
    assert parse_schema({"kind": "text", "max_text_length": 1}).max_text_length == 1
    assert parse_schema({"kind": "text", "max_text_length": 1_000_000}).max_text_length == (
        1_000_000)
    assert parse_schema({"kind": "rating", "labels": [], "features": [
        {"name": "f", "scale": [1, 2]}]}).features[0].name == "f"


def test_parse_schema_and_the_kind_flag() -> None:
    assert parse_schema({"labels": ["a"]}, kind="spans").kind == "spans"
    assert parse_schema({"kind": "spans", "labels": ["a"]}, kind="spans").kind == "spans"
    with pytest.raises(InvalidInput) as caught:
        parse_schema({"kind": "spans", "labels": ["a"]}, kind="classification", source="s.json")
    assert str(caught.value) == ("s.json: the schema's kind is 'spans' but --kind is "
                                 "'classification'; make them agree")
    with pytest.raises(InvalidInput) as caught:
        parse_schema([], source="s.json")
    assert str(caught.value) == ('s.json: a schema is a JSON object such as {"kind": '
                                 '"classification", "labels": ["a", "b"]}, not list')
    with pytest.raises(InvalidInput) as caught:
        parse_schema({"kind": "classification", "labels": ["a", "a"]}, source="")
    assert str(caught.value) == "labels: labels must be unique; repeated: 'a'"
    with pytest.raises(InvalidInput) as caught:
        parse_schema({"kind": "rating", "features": [{"name": "f", "scale": [1, 1]}]})
    assert str(caught.value) == "schema: features.0.scale: scale points must be unique: [1, 1]"


def test_default_schemas_per_kind() -> None:
    rating = LabelSchema.default("rating")
    assert [(f.name, f.scale) for f in rating.features] == [("quality", [1, 2, 3, 4, 5])]
    named = LabelSchema.default("rating", ["fluency", "tone"])
    assert [f.name for f in named.features] == ["fluency", "tone"] and named.labels == []
    assert LabelSchema.default("choice").options == ["response1", "response2"]
    assert LabelSchema.default("choice", ["x", "y"]).options == ["x", "y"]
    text = LabelSchema.default("text", ["ignored"])
    assert (text.kind, text.labels, text.options) == ("text", [], [])
    assert LabelSchema.default("multilabel", ["a", "b"]).labels == ["a", "b"]
    assert LabelSchema.default("spans", ["PER"]) == LabelSchema(kind="spans", labels=["PER"])
    with pytest.raises(InvalidInput) as caught:  # no file name: the values came from flags
        LabelSchema.default("choice", ["a", "a"])
    assert str(caught.value) == "options: options must be unique; repeated: 'a'"
    with pytest.raises(InvalidInput) as caught:
        LabelSchema.default("spans")
    assert str(caught.value) == "a spans project needs labels: --labels a,b,c or --schema FILE"
    with pytest.raises(InvalidInput) as caught:
        LabelSchema.default("nope", ["a"])
    assert str(caught.value) == ("unknown task kind 'nope'; choose one of classification, "
                                 "multilabel, spans, rating, choice, text")


def test_a_malformed_value_names_the_field() -> None:
    schema = LabelSchema(kind="classification", labels=["a"])
    with pytest.raises(InvalidInput) as caught:
        validate_value(schema, {})
    assert str(caught.value) == "invalid classification value: label: Field required"
    with pytest.raises(InvalidInput) as caught:
        validate_value(schema, {"label": "z"})
    assert str(caught.value) == "label 'z' is not in the schema (a)"
    with pytest.raises(InvalidInput) as caught:
        validate_value(schema, "a")
    assert str(caught.value) == ("invalid classification value: value: Input should be a valid "
                                 "dictionary or instance of ClassificationValue")
    spans = LabelSchema(kind="spans", labels=["a", "b"])
    with pytest.raises(InvalidInput) as caught:
        validate_value(spans, {"spans": [{"start": 0, "end": 1}]})
    assert str(caught.value) == "invalid spans value: spans.0.label: Field required"
    with pytest.raises(InvalidInput) as caught:  # no text given: there is nothing to quote
        validate_value(spans, {"spans": [{"start": 0, "end": 2, "label": "a"}]})
    assert str(caught.value) == "span 0-2 (a) is outside the text (length 0)"
    with pytest.raises(InvalidInput) as caught:
        validate_value(spans, {"spans": [{"start": 0, "end": 2, "label": "c"}]}, "xy")
    assert str(caught.value) == "label 'c' is not in the schema (a, b)"


def test_multilabel_keeps_each_label_once_in_schema_order() -> None:
    schema = LabelSchema(kind="multilabel", labels=["a", "b", "c"])
    assert validate_value(schema, {"labels": ["c", "a", "c"]}) == {"labels": ["a", "c"]}


def _spans(*spans: tuple[int, int, str]) -> dict[str, Any]:
    return {"spans": [{"start": s, "end": e, "label": lab} for s, e, lab in spans]}


def test_spans_are_sorted_quoted_and_may_touch() -> None:
    schema = LabelSchema(kind="spans", labels=["PER", "ORG"])
    clean = validate_value(schema, _spans((14, 19, "ORG"), (0, 4, "PER"), (4, 14, "ORG")), TEXT)
    assert clean == {"spans": [
        {"start": 0, "end": 4, "label": "PER", "text": "Anna"},
        {"start": 4, "end": 14, "label": "ORG", "text": " works at "},
        {"start": 14, "end": 19, "label": "ORG", "text": "Acme."}]}


def test_nested_spans_sort_by_start_end_and_label() -> None:
    schema = LabelSchema(kind="spans", labels=["PER", "ORG"], allow_nested=True)
    clean = validate_value(schema, _spans((0, 10, "PER"), (0, 4, "PER"), (0, 4, "ORG")), TEXT)
    assert [(s["start"], s["end"], s["label"]) for s in clean["spans"]] == [
        (0, 4, "ORG"), (0, 4, "PER"), (0, 10, "PER")]


@pytest.mark.parametrize("spans, message", [
    (((0, 20, "PER"),), "span 0-20 (PER) is outside the text (length 19)"),
    (((3, 2, "PER"),), "span 3-2 (PER) is outside the text (length 19)"),
    (((0, 5, "PER"), (4, 8, "ORG")),
     "spans 0-5 and 4-8 overlap and this schema does not allow nesting"),
])
def test_spans_that_are_refused(spans: tuple[tuple[int, int, str], ...], message: str) -> None:
    schema = LabelSchema(kind="spans", labels=["PER", "ORG"])
    with pytest.raises(InvalidInput) as caught:
        validate_value(schema, _spans(*spans), TEXT)
    assert str(caught.value) == message


def test_a_span_quoting_other_text_is_refused() -> None:
    schema = LabelSchema(kind="spans", labels=["PER"])
    value = {"spans": [{"start": 0, "end": 4, "label": "PER", "text": "Anne"}]}
    with pytest.raises(InvalidInput) as caught:
        validate_value(schema, value, TEXT)
    assert str(caught.value) == "span 0-4 quotes 'Anne' but the text there is 'Anna'"


def test_ratings_come_back_as_the_scale_spells_them() -> None:
    schema = LabelSchema(kind="rating", features=[RatingFeature(name="n", scale=[1, 2, 3]),
                                                  RatingFeature(name="w", scale=["lo", "hi"])])
    assert validate_value(schema, {"ratings": {"w": "hi", "n": "3"}}) == {
        "ratings": {"n": 3, "w": "hi"}}
    for ratings, message in (
            ({"n": 1, "w": "lo", "x": 1, "a": 2}, "unknown rating feature(s): a, x"),
            ({}, "missing rating for feature(s): n, w"),
            ({"n": 4, "w": "lo"}, "rating 4 for 'n' is not on its scale [1, 2, 3]")):
        with pytest.raises(InvalidInput) as caught:
            validate_value(schema, {"ratings": ratings})
        assert str(caught.value) == message


def test_choice_messages_and_text_limits() -> None:
    choice = LabelSchema(kind="choice", options=["a", "b"])
    with pytest.raises(InvalidInput) as caught:
        validate_value(choice, {"choice": "c"})
    assert str(caught.value) == "choice 'c' is not one of a, b, tie"
    text = LabelSchema(kind="text", max_text_length=3)
    assert validate_value(text, {"text": "abc"}) == {"text": "abc", "edited": False}
    assert validate_value(text, {"text": "ab", "candidate": 0, "edited": True}) == {
        "text": "ab", "candidate": 0, "edited": True}
    with pytest.raises(InvalidInput) as caught:
        validate_value(text, {"text": "abcd"})
    assert str(caught.value) == "text is longer than 3 characters"


def test_comparable_forms_per_kind() -> None:
    assert comparable("classification", {"label": "a"}) == "a"
    assert comparable("multilabel", {"labels": ["b", "a"]}) == ("a", "b")
    assert comparable("spans", {"spans": [{"start": 0, "end": 4, "label": "PER", "text": "x"},
                                          {"start": 5, "end": 6, "label": "ORG"}]}) == (
        (0, 4, "PER"), (5, 6, "ORG"))
    assert comparable("rating", {"ratings": {"b": 2, "a": "x"}}) == (("a", "x"), ("b", "2"))
    assert comparable("choice", {"choice": "tie"}) == "tie"
    assert comparable("text", {"text": "  Hello\n  World "}) == "hello world"
    assert comparable("text", {}) == ""
