"""The pilot on a real store with a fake LLM at litellm's boundary: answers known by
construction, so the recommended threshold, the counts and the costs are known too."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from annotate.agreement.calibration import expected_calibration_error, reliability_bins
from annotate.errors import InvalidInput
from annotate.pilot.metrics import Costs, human_error_rate
from annotate.pilot.recommend import PilotOptions, ask_people, run_pilot
from annotate.pilot.report import latest_pilot, write_pilot_files
from annotate.projects.catalog import get_project
from annotate.projects.policy import load_policy
from annotate.store.engine import Store
from annotate.store.models import Annotation, LLMCall, Task
from tests.pilot.pilot_data import CALL_COST, MODEL, install_pilot_fake, make_pilot_project


def options(error_cost: float, human_cost: float, sample: int = 50) -> PilotOptions:
    return PilotOptions(costs=Costs(error_cost, human_cost), models=(MODEL,), sample=sample,
                        bootstrap=200)


def test_costly_errors_route_the_unsure_items_to_people(store: Store) -> None:
    # 6 right pos + 16 right neg at confidence 0.9, 4 wrong at 0.4: the model beats always
    # answering neg (16 of 26) and its confidence separates right from wrong (AUROC 1)
    make_pilot_project(store, right=6, wrong=4, neg=16)
    install_pilot_fake()
    result = run_pilot(store, "p", options(error_cost=100, human_cost=1))
    (report,) = result.models
    assert report.items == 26 and report.accuracy == pytest.approx(22 / 26)
    assert result.humans["majority_label_share"] == pytest.approx(16 / 26)
    assert report.skill.can_do_task and report.skill.auroc == pytest.approx(1.0)
    assert report.skill.majority_share == pytest.approx(16 / 26)
    threshold = result.recommendation.policy["human_below_confidence"]
    assert 0.4 < threshold <= 0.9  # right answers (0.9) alone, wrong ones (0.4) to people
    assert result.recommendation.model == MODEL
    choice = result.recommendation.choice
    assert choice.coverage == pytest.approx(22 / 26)
    # 4 of 26 items to people at cost 1 each (their error rate is unmeasured: 0) + LLM calls
    assert choice.expected_cost == pytest.approx(4 / 26 + CALL_COST)
    assert choice.expected_accuracy == pytest.approx(1.0)
    assert result.recommendation.people_only.expected_cost == pytest.approx(1.0)
    assert result.recommendation.llm_only is not None
    assert result.recommendation.llm_only.expected_cost == pytest.approx(400 / 26 + CALL_COST)
    # below the threshold the LLM is always wrong here: people settle disagreements
    assert result.recommendation.policy["moderator_on_disagreement"] is False
    assert result.recommendation.policy["llm_annotations"] >= 1
    assert result.recommendation.policy["helper_first"] is False


def test_costly_people_leave_everything_to_the_llm(sqlite_store: Store) -> None:
    make_pilot_project(sqlite_store, right=6, wrong=4, neg=16)
    install_pilot_fake()
    result = run_pilot(sqlite_store, "p", options(error_cost=1, human_cost=100))
    assert result.recommendation.policy["human_below_confidence"] == 0.0
    assert result.recommendation.choice.coverage == 1.0
    assert result.recommendation.choice.expected_cost == pytest.approx(4 / 26 + CALL_COST)
    # nobody labels an item under this routing: no double annotation of "the items people
    # label" (the project's default asks for 10%)
    assert result.recommendation.policy["double_annotation_share"] == 0.0


def test_invalid_outputs_are_counted_and_go_to_people(sqlite_store: Store) -> None:
    make_pilot_project(sqlite_store, right=6, wrong=2, broken=2)
    install_pilot_fake()
    (report,) = run_pilot(sqlite_store, "p", options(error_cost=100, human_cost=1)).models
    assert (report.invalid, report.errors, report.valid) == (2, 0, 8)
    assert report.invalid_rate == pytest.approx(0.2)
    assert all(f.startswith("invalid_json") for f in report.failures)
    at_zero = report.coverage[0]
    assert at_zero.threshold == 0.0 and at_zero.coverage == pytest.approx(0.8)
    assert report.accuracy == pytest.approx(6 / 8)  # over valid answers
    assert report.llm_only.expected_accuracy == pytest.approx(0.6)  # failures count wrong


def test_nothing_is_stored_as_a_label_and_cache_hits_are_priced(sqlite_store: Store) -> None:
    make_pilot_project(sqlite_store, right=6, wrong=4)
    fake = install_pilot_fake()
    with sqlite_store.session() as s:
        before = s.scalar(select(func.count()).select_from(Annotation))
    first = run_pilot(sqlite_store, "p", options(100, 1)).models[0]
    second = run_pilot(sqlite_store, "p", options(100, 1)).models[0]
    with sqlite_store.session() as s:
        after = s.scalar(select(func.count()).select_from(Annotation))
        calls = s.scalar(select(func.count()).select_from(LLMCall))
    assert after == before
    assert fake.call_count == 10 and calls == 20  # the second run is answered by the cache
    assert (first.usage.calls, first.usage.cache_hits) == (10, 0)
    assert (second.usage.calls, second.usage.cache_hits) == (0, 10)
    assert first.usage.cost_usd == pytest.approx(10 * CALL_COST)
    assert second.usage.cost_usd == 0.0
    assert first.cost_per_1000 == second.cost_per_1000 == pytest.approx(1000 * CALL_COST)


def test_the_sample_is_seeded_and_too_few_labels_say_how_to_get_more(
        sqlite_store: Store) -> None:
    make_pilot_project(sqlite_store, right=12, wrong=8, unlabelled=30)
    install_pilot_fake()
    a = run_pilot(sqlite_store, "p", options(100, 1, sample=10))
    b = run_pilot(sqlite_store, "p", options(100, 1, sample=10))
    assert a.sample["items"] == 10 and a.sample["available"] == 20
    assert a.models[0].coverage == b.models[0].coverage
    make_pilot_project(sqlite_store, right=3, wrong=0, unlabelled=5, name="small")
    with pytest.raises(InvalidInput, match="--ask-people"):
        run_pilot(sqlite_store, "small", options(100, 1, sample=50))


def test_ask_people_queues_human_tasks_for_unlabelled_items(sqlite_store: Store) -> None:
    make_pilot_project(sqlite_store, right=3, wrong=0, unlabelled=20)
    with sqlite_store.session() as s:
        created, present = ask_people(s, get_project(s, "p"), 10, seed=0)
    assert (created, present) == (7, 3)
    with sqlite_store.session() as s:
        tasks = s.scalars(select(Task).where(Task.worker_kind == "human")).all()
        again = ask_people(s, get_project(s, "p"), 10, seed=0)
    assert len(tasks) == 7 and {t.role for t in tasks} == {"annotator"}
    assert again == (0, 10)


def test_people_error_rate_is_measured_leave_one_out(sqlite_store: Store) -> None:
    # item 0: pos, pos, neg -> the neg label differs from the others' majority (pos);
    # each pos faces a tie (pos vs neg) and is skipped. item 1: pos, pos -> two agreements.
    make_pilot_project(sqlite_store, right=6, wrong=4, extra_humans={0: ["pos", "neg"],
                                                                    1: ["pos"]})
    install_pilot_fake()
    result = run_pilot(sqlite_store, "p", options(100, 1))
    assert result.humans["error_rate"] == pytest.approx(1 / 3)
    assert result.humans["error_comparisons"] == 3
    people = result.recommendation.people_only
    assert people.expected_cost == pytest.approx(1 + 100 / 3)


def test_human_error_rate_on_a_hand_made_table() -> None:
    humans = pd.DataFrame({"item_id": ["a", "a", "a", "b", "b", "c", "d", "d", "d"],
                           "annotator": ["x", "y", "z", "x", "y", "x", "x", "y", "z"],
                           "label": ["pos", "pos", "neg", "neg", "pos", "pos",
                                     "pos", "pos", "pos"]})
    rate = human_error_rate(humans)
    # a: neg vs the others' pos is an error, each pos is skipped (the others tie);
    # b: each differs from the other (2 errors); c: alone, skipped; d: 3 agreements
    assert rate.rate == pytest.approx(3 / 6) and rate.comparisons == 6


def test_expected_calibration_error_on_a_hand_made_example() -> None:
    confidence = [0.9, 0.9, 0.9, 0.9, 0.4, 0.4]
    correct = [True, True, True, False, False, True]
    # bin [0.9, 1]: accuracy 0.75 at confidence 0.9, weight 4/6; bin [0.4, 0.5): 0.5 at 0.4
    expected = 4 / 6 * abs(0.75 - 0.9) + 2 / 6 * abs(0.5 - 0.4)
    assert expected_calibration_error(confidence, correct) == pytest.approx(expected)
    assert expected_calibration_error([1.0, 0.0], [True, False]) == pytest.approx(0.0)
    assert expected_calibration_error([], []) is None
    bins = reliability_bins([0.3, 1.0, 0.29], [True, False, True])
    assert list(bins["bin_low"]) == pytest.approx([0.2, 0.3, 0.9])  # edges: [low, high)


def test_files_policy_and_the_ui_record(sqlite_store: Store, tmp_path: Path) -> None:
    make_pilot_project(sqlite_store, right=6, wrong=4, neg=16)
    install_pilot_fake()
    result = run_pilot(sqlite_store, "p", options(100, 1))
    files = write_pilot_files(sqlite_store, result, tmp_path / "out")
    policy = load_policy(files.policy)
    assert policy.human_below_confidence == result.recommendation.choice.threshold
    assert policy.llm_first
    html = files.html.read_text(encoding="utf-8")
    assert "Recommended routing" in html and "data:image/png;base64," in html
    record = latest_pilot(sqlite_store, "p")
    assert record is not None and record["outputs"]["policy"] == str(files.policy.resolve())
    assert record["models"][0]["coverage"][0]["threshold"] == 0.0
    assert latest_pilot(sqlite_store, "other") is None
    answers = pd.read_csv(tmp_path / "out" / "answers_1.csv")
    assert len(answers) == 26 and int(answers["correct"].sum()) == 22
