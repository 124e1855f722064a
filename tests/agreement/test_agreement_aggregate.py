"""Final labels: majority vote tie rules, Dawid-Skene, decisions taking precedence."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from annotate.agreement import dawid_skene, final_labels, majority_vote

ROWS = [
    ("clear", "h1", "human", "a"), ("clear", "h2", "human", "a"), ("clear", "m1", "llm", "b"),
    ("tie", "h1", "human", "a"), ("tie", "m1", "llm", "b"),
    ("human-tie", "h1", "human", "a"), ("human-tie", "h2", "human", "b"),
    ("human-tie", "m1", "llm", "a"), ("human-tie", "m2", "llm", "b"),
]


def labels() -> pd.DataFrame:
    return pd.DataFrame(ROWS, columns=["item_id", "annotator", "annotator_kind", "label"])


def by_item(frame: pd.DataFrame, column: str = "label") -> dict[str, object]:
    return {k: (None if pd.isna(v) else v)
            for k, v in zip(frame["item_id"], frame[column], strict=True)}


def test_majority_leaves_ties_unresolved_by_default() -> None:
    result = majority_vote(labels())
    assert by_item(result) == {"clear": "a", "tie": None, "human-tie": None}
    assert by_item(result, "source") == {"clear": "majority", "tie": "unresolved",
                                         "human-tie": "unresolved"}
    assert by_item(result, "support")["clear"] == pytest.approx(2 / 3)


def test_first_in_order_breaks_ties_by_the_label_order() -> None:
    assert by_item(majority_vote(labels(), "first_in_order", order=["b", "a"])) == {
        "clear": "a", "tie": "b", "human-tie": "b"}
    assert by_item(majority_vote(labels(), "first_in_order")) == {
        "clear": "a", "tie": "a", "human-tie": "a"}


def test_prefer_human_breaks_ties_by_human_votes_only() -> None:
    result = majority_vote(labels(), "prefer_human")
    assert by_item(result) == {"clear": "a", "tie": "a", "human-tie": None}


def test_decisions_take_precedence_adjudicator_over_moderator() -> None:
    decisions = pd.DataFrame([
        ("tie", "judge-llm", "llm", "b", "moderator"),
        ("clear", "judge-llm", "llm", "b", "moderator"),
        ("clear", "lead", "human", "c", "adjudicator"),
    ], columns=["item_id", "annotator", "annotator_kind", "label", "role"])
    frame = pd.concat([labels().assign(role="annotator"), decisions], ignore_index=True)
    result = final_labels(frame)
    assert by_item(result) == {"clear": "c", "tie": "b", "human-tie": None}
    assert by_item(result, "source") == {"clear": "adjudicator", "tie": "moderator",
                                         "human-tie": "unresolved"}


def test_decision_rows_do_not_vote() -> None:
    frame = pd.concat([labels().assign(role=None), pd.DataFrame(
        [("human-tie", "judge", "llm", "a", "moderator")],
        columns=["item_id", "annotator", "annotator_kind", "label", "role"])], ignore_index=True)
    assert by_item(majority_vote(frame))["human-tie"] is None


def _simulated(n_items: int = 400, seed: int = 0) -> tuple[pd.DataFrame, npt.NDArray[np.str_]]:
    rng = np.random.default_rng(seed)
    classes = np.array(["x", "y", "z"])
    truth = rng.integers(0, 3, n_items)
    accuracy = {"good1": 0.9, "good2": 0.85, "llm-ok": 0.75, "noisy1": 0.4, "noisy2": 0.4}
    rows = []
    for name, acc in accuracy.items():
        kind = "llm" if name.startswith("llm") else "human"
        right = rng.random(n_items) < acc
        answer = np.where(right, truth, (truth + rng.integers(1, 3, n_items)) % 3)
        rows += [(i, name, kind, classes[a]) for i, a in enumerate(answer)]
    frame = pd.DataFrame(rows, columns=["item_id", "annotator", "annotator_kind", "label"])
    return frame, classes[truth]


def test_dawid_skene_ranks_annotators_by_reliability_and_beats_majority() -> None:
    frame, truth = _simulated()
    fit = dawid_skene(frame)
    assert fit.converged
    order = list(fit.annotators["annotator"])
    assert order[:3] == ["good1", "good2", "llm-ok"]
    reliability = fit.annotators.set_index("annotator")["reliability"]
    assert reliability["good1"] == pytest.approx(0.9, abs=0.05)
    assert reliability["noisy1"] == pytest.approx(0.4, abs=0.08)
    ds_accuracy = (fit.labels.sort_values("item_id")["label"].to_numpy() == truth).mean()
    mv = majority_vote(frame, "first_in_order").sort_values("item_id")
    mv_accuracy = (mv["label"].to_numpy() == truth).mean()
    assert ds_accuracy >= mv_accuracy
    assert ds_accuracy > 0.9
    assert fit.posteriors.shape == (400, 3)
    assert sum(fit.priors.values()) == pytest.approx(1.0)


def test_final_labels_with_dawid_skene() -> None:
    frame, _ = _simulated(100, seed=1)
    result = final_labels(frame, "dawid_skene")
    assert set(result["source"]) == {"dawid_skene"}
    assert result["support"].between(0, 1).all()
