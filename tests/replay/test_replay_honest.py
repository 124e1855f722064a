"""Replay cannot flatter (#18): one jury for every system, a constant-label baseline, one tie
rule, and no item field derived from the people it scores against."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from annotate.cli.main import main
from annotate.replay.dataset import ReplayItem, load_dataset
from annotate.replay.metrics import (
    TIE_RULE,
    ProjectAnswers,
    build_report,
    label_order,
    majority_of,
    random_budget,
    score_system,
)
from annotate.replay.simulate import Injection, ReplayRun, split_people


def _run(people: dict[str, dict[str, str]], seed: int = 1) -> ReplayRun:
    items = [ReplayItem(i, f"text {i}", {}, {}, dict(p)) for i, p in people.items()]
    holdout, pool = split_people(items, seed=seed)
    return ReplayRun("p", 1, items, holdout, pool, injection=Injection())


def test_every_system_is_scored_against_the_same_held_out_people() -> None:
    run = _run({"x": {"A": "a", "B": "b", "C": "b", "D": "a"}, "y": {"A": "a", "B": "a"}})
    labels = {"x": "b", "y": "a"}
    asked_everyone = score_system(run, "s1", "", labels, {i: set(p) for i, p in run.pool.items()},
                                  seed=0)
    asked_nobody = score_system(run, "s2", "", labels, {}, seed=0)
    # the same labels get the same score, whoever the system asked
    assert asked_everyone.quality == asked_nobody.quality
    held_out_x = run.items[0].people[run.holdout["x"]]
    assert asked_nobody.quality == pytest.approx(((held_out_x == "b") + 1) / 2)


def test_the_constant_majority_label_is_a_system_and_a_one_label_llm_equals_it() -> None:
    run = _run({f"i{k}": {"A": lab, "B": lab, "C": lab}
                for k, lab in enumerate(["a", "a", "a", "b", "a", "b"])})
    answers = ProjectAnswers(final={i: "a" for i in ("i0", "i1", "i2", "i3", "i4", "i5")},
                             used={}, llm={i: ("a", 0.9) for i in
                                           ("i0", "i1", "i2", "i3", "i4", "i5")})
    report = build_report(run, answers, dataset={}, policy={}, model="m", seed=0)
    systems = {s.name: s for s in report.systems}
    assert report.majority_label == "a" and report.label_order == ["a", "b"]
    constant = systems["constant_majority"]
    assert constant.human_labels_used == 0 and constant.quality == pytest.approx(4 / 6)
    assert systems["llm_alone"].quality == constant.quality
    assert all(row["majority_share"] == row["accuracy"]
               for row in report.llm_accuracy_at_coverage if row["n"])


def test_majority_ties_break_one_way_for_every_system() -> None:
    # pooled labels: b is more common, so every tie goes to b
    run = _run({"t": {"A": "a", "B": "b", "C": "a", "D": "b", "E": "a"},
                "u": {"A": "b", "B": "b", "C": "b"}, "v": {"A": "b", "B": "b", "C": "a"}},
               seed=5)
    order = label_order(run)
    assert order[0] == "b"
    assert majority_of(["a", "b"], order) == "b" and majority_of(["b", "a"], order) == "b"
    assert majority_of(["a", "c"], ["c", "a"]) == "c"
    # whatever the seed, a random budget breaks its ties the same way
    pool_total = sum(len(p) for p in run.pool.values())
    for seed in range(5):
        labels, used = random_budget(run, pool_total, {}, seed)
        for item_id, chosen in used.items():
            votes = [run.pool[item_id][p] for p in chosen]
            assert labels[item_id] == majority_of(votes, order)
    # the policy's own unresolved tie between two people is settled by the same rule
    answers = ProjectAnswers(final={"t": None, "u": "b", "v": "b"}, used={"t": {"A", "B"}},
                             llm={}, votes={"t": ["a", "b"]})
    report = build_report(run, answers, dataset={}, policy={}, model="m", seed=0)
    policy = next(s for s in report.systems if s.name == "policy")
    assert policy.unlabelled == 0
    assert report.tie_rule == TIE_RULE and "more common" in report.tie_rule


def test_fields_derived_from_the_people_are_not_copied_into_items(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    rows = [{"id": f"p{k}", "instruction": "Which is better?", "input": f"case {k}",
             "response1": "one", "response2": "two", "motivation_app": "x",
             "human_labels": {"j1": "response1", "j2": "response2", "j3": "response1"},
             "human_majority": "response1"} for k in range(3)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    data = load_dataset(path)
    assert data.format == "pairwise-jsonl"
    for item in data.items:
        assert "human_majority" not in item.meta and "human_majority" not in item.data
        assert item.meta.get("motivation_app") == "x"  # other fields stay
        assert len(item.people) == 3
    assert any("human_majority (3 items)" in n for n in data.notes)


def test_cli_prints_the_constant_baseline_and_the_tie_rule(
        tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "replay", str(shared_data / "pandalm_pairwise"), "--model", "dry-run",
                 "--limit", "12", "--out", str(tmp_path / "o")])
    assert code == 0
    printed = capsys.readouterr().out
    assert "constant_majority" in printed and "ties:" in printed
    report: dict[str, Any] = json.loads((tmp_path / "o" / "replay.json").read_text())
    assert any("human_majority" in n for n in report["notes"])
    assert report["tie_rule"] == TIE_RULE
