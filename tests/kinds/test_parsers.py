"""Each kind's parser on model answers as they come, messy ones included: what is stored is
a valid value, anything else is an InvalidInput (never a label)."""

from __future__ import annotations

from typing import Any

import pytest

from annotate.errors import InvalidInput
from annotate.kinds.schema import LabelSchema, RatingFeature
from roles.annotator import parse_value

TEXT = "Anna Petrova works at Acme in Kazan. Anna left."
SCHEMAS = {
    "classification": LabelSchema(kind="classification", labels=["pos", "neg"]),
    "multilabel": LabelSchema(kind="multilabel", labels=["a", "b", "c"]),
    "spans": LabelSchema(kind="spans", labels=["PER", "ORG", "LOC"]),
    "rating": LabelSchema(kind="rating", features=[RatingFeature(name="f", scale=[1, 2, 3]),
                                                   RatingFeature(name="g", scale=["lo", "hi"])]),
    "choice": LabelSchema(kind="choice", options=["r1", "r2"]),
    "text": LabelSchema(kind="text", max_text_length=20),
}


@pytest.mark.parametrize("kind, answer, value", [
    ("classification", {"label": "pos", "reason": "r", "confidence": 90}, {"label": "pos"}),
    ("multilabel", {"labels": ["c", "a"]}, {"labels": ["a", "c"]}),
    ("multilabel", {"labels": []}, {"labels": []}),
    ("spans", {"entities": [{"text": "Anna Petrova", "label": "PER"},
                            {"text": " Acme ", "label": "ORG"},
                            {"text": "Anna", "label": "PER"}]},
     {"spans": [{"start": 0, "end": 12, "label": "PER", "text": "Anna Petrova"},
                {"start": 22, "end": 26, "label": "ORG", "text": "Acme"},
                {"start": 37, "end": 41, "label": "PER", "text": "Anna"}]}),
    ("spans", {"entities": []}, {"spans": []}),
    ("rating", {"ratings": {"f": "2", "g": "hi"}}, {"ratings": {"f": 2, "g": "hi"}}),
    ("choice", {"choice": "tie"}, {"choice": "tie"}),
    ("text", {"text": "Short answer."}, {"text": "Short answer.", "edited": False}),
])
def test_answers_that_parse(kind: str, answer: dict[str, Any], value: dict[str, Any]) -> None:
    assert parse_value(SCHEMAS[kind], answer, TEXT) == value


@pytest.mark.parametrize("kind, answer, message", [
    ("classification", {}, "invalid classification value: label: Input should be a valid "
                           "string"),
    ("classification", {"label": "meh"}, "label 'meh' is not in the schema (pos, neg)"),
    ("multilabel", {"labels": "a"}, "invalid multilabel value: labels: Input should be a "
                                    "valid list"),
    ("spans", {"entities": [{"text": "Moscow", "label": "LOC"}]},
     "entity 'Moscow' does not occur in the item text"),
    ("spans", {"entities": [{"text": "Acme", "label": "CITY"}]},
     "label 'CITY' is not in the schema (PER, ORG, LOC)"),
    ("spans", {"entities": [{"text": "Anna Petrova", "label": "PER"},
                            {"text": "Petrova works", "label": "ORG"}]},
     "spans 0-12 and 5-18 overlap and this schema does not allow nesting"),
    ("rating", {"ratings": {"f": 4, "g": "hi"}}, "rating 4 for 'f' is not on its scale [1, 2, 3]"),
    ("rating", {"ratings": {"f": 1}}, "missing rating for feature(s): g"),
    ("choice", {"choice": "r3"}, "choice 'r3' is not one of r1, r2, tie"),
    ("text", {"text": ""}, "invalid text value: text: String should have at least 1 character"),
    ("text", {"text": "x" * 21}, "text is longer than 20 characters"),
])
def test_answers_that_are_refused(kind: str, answer: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_value(SCHEMAS[kind], answer, TEXT)
    assert str(caught.value) == message
