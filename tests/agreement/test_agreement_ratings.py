"""Per-feature ratings bucketed per item: full / partial / different."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from annotate.agreement import compare_ratings
from annotate.errors import InvalidInput

SCALES = {"fluency": [1, 2, 3, 4, 5], "relevance": ["bad", "ok", "good"]}


def frame(rows: list[tuple[str, str, str, dict[str, object]]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["item_id", "annotator", "annotator_kind", "ratings"])


def test_each_bucket() -> None:
    ratings = frame([
        ("full", "h", "human", {"fluency": 4, "relevance": "good"}),
        ("full", "m", "llm", {"fluency": 4, "relevance": "good"}),
        ("some-agree", "h", "human", {"fluency": 1, "relevance": "good"}),
        ("some-agree", "m", "llm", {"fluency": 5, "relevance": "good"}),
        ("one-step", "h", "human", {"fluency": 2, "relevance": "ok"}),
        ("one-step", "m", "llm", {"fluency": 3, "relevance": "good"}),
        ("different", "h", "human", {"fluency": 1, "relevance": "bad"}),
        ("different", "m", "llm", {"fluency": 4, "relevance": "ok"}),
    ])
    result = compare_ratings(ratings, SCALES)
    buckets = dict(zip(result.per_item["item_id"], result.per_item["bucket"], strict=True))
    assert buckets == {"full": "full", "some-agree": "partial", "one-step": "partial",
                       "different": "different"}
    assert result.counts == {"full": 1, "partial": 2, "different": 1}
    assert result.shares == {"full": 0.25, "partial": 0.5, "different": 0.25}


def test_per_feature_shares_and_ordinal_alpha() -> None:
    ratings = frame([
        ("1", "h", "human", {"fluency": 4, "relevance": "good"}),
        ("1", "m", "llm", {"fluency": 4, "relevance": "bad"}),
        ("2", "h", "human", {"fluency": 2, "relevance": "ok"}),
        ("2", "m", "llm", {"fluency": 3, "relevance": "ok"}),
    ])
    features = compare_ratings(ratings, SCALES).per_feature.set_index("feature")
    assert features.loc["fluency", "exact_share"] == 0.5
    assert features.loc["fluency", "within_one_share"] == 1.0
    assert features.loc["relevance", "mean_spread"] == 1.0
    assert features.loc["fluency", "alpha_ordinal"] is not None


def test_human_vs_llm_only_counts_items_rated_by_both_kinds() -> None:
    ratings = frame([
        ("1", "h1", "human", {"fluency": 4}),
        ("1", "h2", "human", {"fluency": 1}),
        ("2", "h1", "human", {"fluency": 4}),
        ("2", "m", "llm", {"fluency": 4}),
    ])
    everyone = compare_ratings(ratings, SCALES)
    assert everyone.n_items == 2
    mixed = compare_ratings(ratings, SCALES, kinds=("human", "llm"))
    assert mixed.n_items == 1 and mixed.counts["full"] == 1
    assert mixed.compared == "human vs llm"


def test_json_text_ratings_and_the_schema_answer_shape_are_read() -> None:
    ratings = frame([
        ("1", "h", "human", json.dumps({"fluency": 4})),  # type: ignore[list-item]
        ("1", "m", "llm", json.dumps({"ratings": {"fluency": 4}})),  # type: ignore[list-item]
    ])
    assert compare_ratings(ratings, SCALES).counts["full"] == 1


def test_values_off_the_scale_are_rejected() -> None:
    ratings = frame([("1", "h", "human", {"fluency": 9})])
    with pytest.raises(InvalidInput, match="scale"):
        compare_ratings(ratings, SCALES)


def test_single_rater_items_are_skipped() -> None:
    ratings = frame([("1", "h", "human", {"fluency": 2})])
    result = compare_ratings(ratings, SCALES)
    assert result.n_items == 0 and result.shares["full"] is None
