"""Known answers for annotator competence (Dawid-Skene, crowd-kit style toy frames)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from annotate.agreement.aggregate import final_labels
from annotate.agreement.competence import annotator_competence


def toy_frame(n: int = 200, seed: int = 1, tie_share: float = 0.3
              ) -> tuple[pd.DataFrame, dict[int, str]]:
    """A reliable (95%), a fair (70%) and a random annotator on binary items; on a
    ``tie_share`` of the items the fair one did not answer (reliable vs random: ties)."""
    rng = np.random.default_rng(seed)
    truth = {i: str(rng.choice(["yes", "no"])) for i in range(n)}
    rows = []
    for i, true in truth.items():
        other = "no" if true == "yes" else "yes"
        rows.append((i, "reliable", true if rng.random() < 0.95 else other))
        if rng.random() >= tie_share:
            rows.append((i, "fair", true if rng.random() < 0.7 else other))
        rows.append((i, "random", str(rng.choice(["yes", "no"]))))
    frame = pd.DataFrame(rows, columns=["item_id", "annotator", "label"])
    return frame.assign(annotator_kind=np.where(frame["annotator"] == "random", "llm",
                                                "human")), truth


def test_the_reliable_annotator_is_the_most_competent_with_separate_intervals():
    frame, _ = toy_frame()
    result = annotator_competence(frame, n_resamples=100)
    table = result.table.set_index("annotator")
    assert list(result.table["annotator"]) == ["reliable", "fair", "random"]
    assert table.loc["reliable", "competence"] > 0.9
    assert 0.35 < table.loc["random", "competence"] < 0.65
    assert table.loc["reliable", "ci_low"] > table.loc["random", "ci_high"]
    assert table.loc["reliable", "ci_low"] <= table.loc["reliable", "competence"] \
        <= table.loc["reliable", "ci_high"]
    assert table.loc["reliable", "items"] == 200
    assert table.loc["random", "annotator_kind"] == "llm"
    assert table.loc["reliable", "agrees_with_final"] > table.loc["random", "agrees_with_final"]


def test_dawid_skene_labels_recover_the_truth_where_majority_ties_or_fails():
    frame, truth = toy_frame()
    majority = final_labels(frame, "majority").set_index("item_id")["label"]
    ds = final_labels(frame, "dawid_skene").set_index("item_id")["label"]
    ties = [i for i in truth if pd.isna(majority[i])]
    outvoted = [i for i in truth if not pd.isna(majority[i]) and majority[i] != truth[i]]
    assert len(ties) > 20 and len(outvoted) > 5
    assert np.mean([ds[i] == truth[i] for i in ties]) > 0.9
    assert np.mean([ds[i] == truth[i] for i in outvoted]) > 0.5
    assert np.mean([ds[i] == truth[i] for i in truth]) > \
        np.mean([majority[i] == truth[i] for i in truth])


def test_one_annotator_gives_a_reason_not_a_table():
    frame = pd.DataFrame({"item_id": [1, 2], "annotator": ["a", "a"], "label": ["x", "y"]})
    result = annotator_competence(frame)
    assert result.table.empty and result.reason


def test_the_same_seed_gives_the_same_intervals():
    frame, _ = toy_frame(n=60)
    a = annotator_competence(frame, n_resamples=50, seed=3).table
    b = annotator_competence(frame, n_resamples=50, seed=3).table
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.filterwarnings("ignore")  # crowd-kit's own pandas deprecations
def test_agrees_with_crowd_kit_dawid_skene():
    crowdkit = pytest.importorskip("crowdkit.aggregation")
    frame, _ = toy_frame()
    ours = final_labels(frame, "dawid_skene").set_index("item_id")["label"]
    theirs = crowdkit.DawidSkene(n_iter=100).fit_predict(
        frame.rename(columns={"item_id": "task", "annotator": "worker"})[
            ["task", "worker", "label"]])
    assert np.mean([ours[i] == theirs[i] for i in ours.index]) > 0.98


def test_the_report_has_a_competence_section_and_can_aggregate_by_dawid_skene(tmp_path):
    import json

    from annotate.agreement.report import write_report

    frame, _ = toy_frame()
    files = write_report(tmp_path / "ds", frame, bootstrap=50, aggregation="dawid_skene")
    numbers = json.loads(files.json.read_text(encoding="utf-8"))
    names = [a["annotator"] for a in numbers["competence"]["annotators"]]
    assert names[0] == "reliable" and names[-1] == "random"
    assert numbers["aggregation"]["method"] == "dawid_skene"
    assert "Annotator competence" in files.html.read_text(encoding="utf-8")
    finals = pd.read_csv(tmp_path / "ds" / "final_labels.csv")
    assert set(finals["source"]) == {"dawid_skene"}
    majority = write_report(tmp_path / "mv", frame, bootstrap=50)
    assert json.loads(majority.json.read_text())["aggregation"]["method"] == "majority"
    assert set(pd.read_csv(tmp_path / "mv" / "final_labels.csv")["source"]) >= {"unresolved"}


def test_vs_others_is_agreement_with_the_other_annotators_strict_majority():
    frame = pd.DataFrame(
        [(1, "a", "x"), (1, "b", "x"), (1, "m", "y"),   # m against a strict x majority
         (2, "a", "y"), (2, "b", "y"), (2, "m", "y"),   # all agree
         (3, "a", "x"), (3, "m", "y"),                  # one other each: a "majority" of one
         (4, "a", "x"), (4, "b", "y"), (4, "m", "x")],  # m's others tie: not checked for m
        columns=["item_id", "annotator", "label"])
    table = annotator_competence(frame, n_resamples=0).table.set_index("annotator")
    assert table.loc["m", "items_vs_others"] == 3 and table.loc["m", "vs_others"] == 1 / 3
    # a: item 1 (b x, m y) and item 4 (b y, m x) tie; item 2 a hit, item 3 a miss (m says y)
    assert table.loc["a", "items_vs_others"] == 2 and table.loc["a", "vs_others"] == 1 / 2
    # b: item 1 ties; item 2 a hit; item 4 a miss (a and m say x)
    assert table.loc["b", "items_vs_others"] == 2 and table.loc["b", "vs_others"] == 1 / 2
    assert table["ci_low"].isna().all()  # no resamples, no interval


def test_a_large_project_resamples_a_bounded_number_of_items(monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    """Above MAX_RESAMPLE_ITEMS each resample draws that many items and the spread is scaled
    to all items: the interval still holds the estimate and is about as wide as the full
    bootstrap's (a refit on every item of a million-item project would take hours)."""
    from annotate.agreement import competence

    frame, _ = toy_frame(n=3000, seed=3)
    full = annotator_competence(frame, n_resamples=60).table.set_index("annotator")
    monkeypatch.setattr(competence, "MAX_RESAMPLE_ITEMS", 500)
    capped = annotator_competence(frame, n_resamples=60).table.set_index("annotator")
    for who in ("reliable", "fair", "random"):
        assert capped.loc[who, "competence"] == full.loc[who, "competence"]  # same fit
        assert capped.loc[who, "ci_low"] <= capped.loc[who, "competence"] \
            <= capped.loc[who, "ci_high"]
        width = full.loc[who, "ci_high"] - full.loc[who, "ci_low"]
        assert 0.5 * width < capped.loc[who, "ci_high"] - capped.loc[who, "ci_low"] < 2 * width
