"""Validation of annotation values per task kind."""

from __future__ import annotations

import pytest

from annotate.errors import InvalidInput
from annotate.kinds.schema import LabelSchema, RatingFeature, comparable, validate_value

TEXT = "Анна Петрова работает в Газпроме."


def cls_schema() -> LabelSchema:
    return LabelSchema(kind="classification", labels=["pos", "neg"])


def test_classification_accepts_label_in_schema() -> None:
    assert validate_value(cls_schema(), {"label": "pos"}) == {"label": "pos"}


@pytest.mark.parametrize("value, message", [
    ({"label": "meh"}, "not in the schema"),
    ({"labels": ["pos"]}, "label"),
    ({"label": "pos", "extra": 1}, "extra"),
    ("pos", "invalid classification value"),
])
def test_classification_rejects(value: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        validate_value(cls_schema(), value)


def test_multilabel_orders_by_schema_and_rejects_unknown() -> None:
    schema = LabelSchema(kind="multilabel", labels=["a", "b", "c"])
    assert validate_value(schema, {"labels": ["c", "a"]}) == {"labels": ["a", "c"]}
    assert validate_value(schema, {"labels": []}) == {"labels": []}
    with pytest.raises(InvalidInput, match="'d'"):
        validate_value(schema, {"labels": ["d"]})


def span_schema(nested: bool = False) -> LabelSchema:
    return LabelSchema(kind="spans", labels=["PER", "ORG"], allow_nested=nested)


def test_spans_quote_the_text_at_their_offsets() -> None:
    value = {"spans": [{"start": 24, "end": 32, "label": "ORG"},
                       {"start": 0, "end": 12, "label": "PER", "text": "Анна Петрова"}]}
    clean = validate_value(span_schema(), value, TEXT)
    assert [s["text"] for s in clean["spans"]] == ["Анна Петрова", "Газпроме"]


@pytest.mark.parametrize("span, message", [
    ({"start": 0, "end": 99, "label": "PER"}, "outside the text"),
    ({"start": 5, "end": 5, "label": "PER"}, "outside the text"),
    ({"start": 0, "end": 4, "label": "LOC"}, "not in the schema"),
    ({"start": 0, "end": 4, "label": "PER", "text": "Петр"}, "quotes 'Петр'"),
    ({"start": -1, "end": 4, "label": "PER"}, "greater than or equal"),
])
def test_spans_rejected(span: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        validate_value(span_schema(), {"spans": [span]}, TEXT)


def test_overlap_needs_nesting_allowed() -> None:
    value = {"spans": [{"start": 0, "end": 12, "label": "PER"},
                       {"start": 5, "end": 12, "label": "PER"}]}
    with pytest.raises(InvalidInput, match="overlap"):
        validate_value(span_schema(), value, TEXT)
    assert len(validate_value(span_schema(nested=True), value, TEXT)["spans"]) == 2


def rating_schema() -> LabelSchema:
    return LabelSchema(kind="rating", features=[
        RatingFeature(name="fluency", scale=[1, 2, 3]),
        RatingFeature(name="tone", scale=["bad", "ok", "good"]),
    ])


def test_rating_within_scale() -> None:
    clean = validate_value(rating_schema(), {"ratings": {"fluency": "2", "tone": "ok"}})
    assert clean == {"ratings": {"fluency": 2, "tone": "ok"}}


@pytest.mark.parametrize("ratings, message", [
    ({"fluency": 4, "tone": "ok"}, "not on its scale"),
    ({"fluency": 1}, "missing rating"),
    ({"fluency": 1, "tone": "ok", "wit": 1}, "unknown rating feature"),
])
def test_rating_rejected(ratings: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        validate_value(rating_schema(), {"ratings": ratings})


def test_choice_and_ties() -> None:
    schema = LabelSchema(kind="choice", options=["response1", "response2"])
    assert validate_value(schema, {"choice": "tie"}) == {"choice": "tie"}
    no_tie = LabelSchema(kind="choice", options=["a", "b"], allow_tie=False)
    with pytest.raises(InvalidInput, match="not one of a, b"):
        validate_value(no_tie, {"choice": "tie"})


def test_text_value() -> None:
    schema = LabelSchema(kind="text", max_text_length=10)
    assert validate_value(schema, {"text": "short", "candidate": 1}) == {
        "text": "short", "candidate": 1, "edited": False}
    with pytest.raises(InvalidInput, match="longer than 10"):
        validate_value(schema, {"text": "x" * 11})
    with pytest.raises(InvalidInput):
        validate_value(schema, {"text": ""})


@pytest.mark.parametrize("kind, labels", [("classification", None), ("spans", None),
                                          ("nonsense", ["a"])])
def test_default_schema_errors(kind: str, labels: list[str] | None) -> None:
    with pytest.raises(InvalidInput):
        LabelSchema.default(kind, labels)


def test_comparable_ignores_order_and_spacing() -> None:
    assert comparable("multilabel", {"labels": ["b", "a"]}) == comparable(
        "multilabel", {"labels": ["a", "b"]})
    assert comparable("text", {"text": "A  b"}) == comparable("text", {"text": "a b"})
