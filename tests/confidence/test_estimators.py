"""Confidence estimators as pure functions, on hand-made token tables like the ones llama.cpp
and OpenAI return (``choices[0].logprobs.content``)."""

from __future__ import annotations

import math

import pytest

from annotate.llm.types import TokenLogprob, parse_logprobs
from roles.confidence import agreement, decision_options, logprob_of_decision, verbalized


def tokens(*pieces: tuple[str, float, dict[str, float]]) -> tuple[TokenLogprob, ...]:
    return tuple(TokenLogprob(t, lp, tuple(top.items())) for t, lp, top in pieces)


def test_the_decision_probability_is_normalised_over_the_allowed_labels() -> None:
    # as measured on the embedded model: the quote is its own token, "ab" starts "abusive",
    # "not" starts "not_abusive", and tokens the grammar forbids ("l", "I") are left out
    answer = tokens(('{"label": "', 0.0, {}),
                    ("ab", -3.26, {"l": -1.75, "I": -2.91, "ab": -3.26, "not": -4.25}),
                    ('usive", "confidence": 1}', 0.0, {}))
    p = logprob_of_decision(answer, "label", ["abusive", "not_abusive"], "abusive")
    expected = math.exp(-3.26) / (math.exp(-3.26) + math.exp(-4.25))
    assert p == pytest.approx(expected)
    other = logprob_of_decision(answer, "label", ["abusive", "not_abusive"], "not_abusive")
    assert other == pytest.approx(1 - expected)


def test_a_token_that_carries_the_opening_quote_is_read_past_it() -> None:
    answer = tokens(('{"choice":', 0.0, {}),
                    (' "response1', -0.1, {' "response1': -0.1, ' "response2': -2.4,
                                           ' "tie': -3.0, " [": -1.0}),
                    ('"}', 0.0, {}))
    p = logprob_of_decision(answer, "choice", ["response1", "response2", "tie"], "response1")
    masses = [math.exp(-0.1), math.exp(-2.4), math.exp(-3.0)]
    assert p == pytest.approx(masses[0] / sum(masses))


def test_a_token_shared_by_two_labels_is_split_between_them() -> None:
    answer = tokens(('{"label": "', 0.0, {}), ("ne", -0.5, {"ne": -0.5, "pos": -0.5}),
                    ('utral"}', 0.0, {}))
    p = logprob_of_decision(answer, "label", ["neutral", "negative", "pos"], "neutral")
    assert p == pytest.approx(0.25)  # "ne" split over neutral and negative, "pos" as much


def test_no_decision_position_gives_no_probability() -> None:
    answer = tokens(('{"other": "x"}', 0.0, {}))
    assert logprob_of_decision(answer, "label", ["a", "b"], "a") is None
    assert logprob_of_decision(answer, "other", ["a", "b"], "x") is None


def test_confident_and_unsure_answers_order_as_expected() -> None:
    sure = tokens(('{"label": "', 0.0, {}), ("pos", -0.02, {"pos": -0.02, "neg": -4.0}),
                  ('"}', 0.0, {}))
    unsure = tokens(('{"label": "', 0.0, {}), ("pos", -0.69, {"pos": -0.69, "neg": -0.72}),
                    ('"}', 0.0, {}))
    p_sure = logprob_of_decision(sure, "label", ["pos", "neg"], "pos")
    p_unsure = logprob_of_decision(unsure, "label", ["pos", "neg"], "pos")
    assert p_sure is not None and p_unsure is not None
    assert p_sure > 0.95
    assert 0.5 < p_unsure < 0.55


def test_openai_style_logprobs_parse_from_dicts() -> None:
    raw = {"content": [{"token": "a", "logprob": -0.1, "bytes": [97],
                        "top_logprobs": [{"token": "a", "logprob": -0.1},
                                         {"token": "b", "logprob": -2.0}]},
                       {"token": None, "logprob": 0.0}]}
    assert parse_logprobs(raw) == (TokenLogprob("a", -0.1, (("a", -0.1), ("b", -2.0))),)
    assert parse_logprobs(None) is None


def test_decision_options_are_the_enum_field() -> None:
    assert decision_options({"label": {"type": "string", "enum": ["a", "b"]},
                             "reason": {"type": "string"}}) == ("label", ["a", "b"])
    assert decision_options({"labels": {"type": "array"}}) is None


def test_agreement_share_entropy_and_ties() -> None:
    index, share, entropy = agreement([{"label": "a"}] * 5)
    assert (index, share, entropy) == (0, 1.0, 0.0)
    index, share, entropy = agreement([{"label": "b"}, {"label": "a"}, {"label": "a"},
                                       {"label": "b"}, {"label": "a"}])
    assert index == 1 and share == 0.6
    assert entropy == pytest.approx(-(0.6 * math.log(0.6) + 0.4 * math.log(0.4)))
    assert agreement([{"label": "b"}, {"label": "a"}])[0] == 0  # a tie: the first sampled


def test_verbalized_is_a_clipped_percentage() -> None:
    assert verbalized({"confidence": 90}) == 0.9
    assert verbalized({"confidence": 140}) == 1.0
    assert verbalized({"confidence": True}) is None
    assert verbalized({}) is None
