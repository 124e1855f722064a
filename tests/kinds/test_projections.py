"""Each kind's one label projection (agreement, dashboards, export), its comparable form and
its one-line form, on valid values; answers that agree get the same label."""

from __future__ import annotations

from typing import Any

import pytest

from annotate.kinds.registry import get_kind

SPAN_A = {"start": 0, "end": 4, "label": "PER", "text": "Anna"}
SPAN_B = {"start": 14, "end": 18, "label": "ORG", "text": "Acme"}


@pytest.mark.parametrize("kind, value, label", [
    ("classification", {"label": "pos"}, "pos"),
    ("multilabel", {"labels": ["b", "a"]}, "a|b"),
    ("multilabel", {"labels": []}, "(none)"),
    ("spans", {"spans": [SPAN_A, SPAN_B]}, "0-4:PER;14-18:ORG"),
    ("spans", {"spans": []}, "(none)"),
    ("rating", {"ratings": {"fluency": 4, "tone": "warm"}}, None),
    ("choice", {"choice": "tie"}, "tie"),
    ("text", {"text": "  Hello\n World ", "edited": False}, "hello world"),
])
def test_label(kind: str, value: dict[str, Any], label: str | None) -> None:
    assert get_kind(kind).label(value) == label


def test_a_rating_has_a_label_per_feature() -> None:
    rating = get_kind("rating")
    value = {"ratings": {"fluency": 4, "tone": "warm"}}
    assert (rating.label(value, "fluency"), rating.label(value, "tone")) == ("4", "warm")
    assert rating.label(value, "missing") is None


@pytest.mark.parametrize("kind, value", [
    ("classification", {}), ("multilabel", {}), ("spans", {}), ("choice", {}),
    ("text", {"text": ""}),
])
def test_a_value_without_the_kinds_field_has_no_label(kind: str, value: dict[str, Any]) -> None:
    assert get_kind(kind).label(value) is None


@pytest.mark.parametrize("kind, first, second", [
    ("multilabel", {"labels": ["b", "a"]}, {"labels": ["a", "b"]}),
    ("text", {"text": "A  b"}, {"text": "a b", "candidate": 1, "edited": True}),
    ("spans", {"spans": [SPAN_A]}, {"spans": [{**SPAN_A, "text": None}]}),
])
def test_answers_that_agree_have_one_label(kind: str, first: dict[str, Any],
                                           second: dict[str, Any]) -> None:
    k = get_kind(kind)
    assert k.comparable(first) == k.comparable(second)
    assert k.label(first) == k.label(second)


@pytest.mark.parametrize("kind, first, second", [
    ("classification", {"label": "a"}, {"label": "b"}),
    ("multilabel", {"labels": ["a"]}, {"labels": []}),
    ("spans", {"spans": [SPAN_A]}, {"spans": [{**SPAN_A, "label": "ORG"}]}),
    ("choice", {"choice": "a"}, {"choice": "tie"}),
    ("text", {"text": "yes"}, {"text": "no"}),
])
def test_answers_that_differ_have_different_labels(kind: str, first: dict[str, Any],
                                                   second: dict[str, Any]) -> None:
    k = get_kind(kind)
    assert k.comparable(first) != k.comparable(second)
    assert k.label(first) != k.label(second)


@pytest.mark.parametrize("kind, value, shown", [
    ("classification", {"label": "pos"}, "pos"),
    ("multilabel", {"labels": ["a", "b"]}, "a, b"),
    ("multilabel", {"labels": []}, "(no labels)"),
    ("spans", {"spans": [SPAN_A, SPAN_B]}, "Anna [PER]; Acme [ORG]"),
    ("spans", {"spans": []}, "(no spans)"),
    ("rating", {"ratings": {"fluency": 4, "tone": "warm"}}, "fluency=4, tone=warm"),
    ("choice", {"choice": "response1"}, "response1"),
    ("text", {"text": "x" * 300, "candidate": 0, "edited": True}, "x" * 300),
])
def test_show(kind: str, value: dict[str, Any], shown: str) -> None:
    assert get_kind(kind).show(value) == shown
