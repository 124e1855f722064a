"""Replay allocations (#18 item 6): the most unsure items go to people, by the entropy of
sampled LLM answers or by the distilled model's probability, as a curve of quality against
human share; known answers on a synthetic dataset with a scripted fake LLM."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pytest

from annotate.cli.main import main
from annotate.llm.testing import Reply, install_fake
from annotate.projects.policy import RoutingPolicy
from annotate.replay.allocation import (
    ItemSignal,
    allocate,
    non_inferior_onwards,
    non_inferior_share,
    replay_allocations,
)
from annotate.replay.dataset import load_dataset
from annotate.replay.metrics import project_answers
from annotate.replay.simulate import run_replay
from annotate.store.engine import Store
from tests.distill.conftest import TOY, write_labels

PEOPLE = ("P1", "P2", "P3", "P4", "P5")
HARD = {f"h{i}" for i in range(10)}  # people say b; the model's samples split a / b
EASY = {f"e{i}" for i in range(20)}  # the model always answers what people say


def write_dataset(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["item_id", "text", "annotator", "label"])
        for item in sorted(HARD | EASY):
            truth = "b" if item in HARD or item.endswith(("1", "3")) else "a"
            kind = "hard" if item in HARD else "easy"
            for person in PEOPLE:
                writer.writerow([item, f"{kind} {truth} item {item}", person, truth])
    return path


def sampling_model(model: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> Reply:
    """Easy items: the label the text names, every time. Hard items: 'a' when asked once,
    and a sample's seed decides between a and b (seeds 1, 2, 3 give a, b, a: wrong)."""
    text = messages[-1]["content"]
    words = text.rsplit("Text:", 1)[-1] if "Text:" in text else text
    if "hard" in words:
        seed = params.get("seed")
        label = "a" if seed is None or seed % 2 else "b"
    else:
        label = "b" if " b item" in words else "a"
    return Reply(json.dumps({"label": label, "reason": "scripted", "confidence": 90}))


@pytest.fixture
def finished(store: Store, tmp_path: Path) -> Any:
    install_fake(responder=sampling_model)
    policy = RoutingPolicy(human_annotations=1, llm_annotations=1, max_attempts=1,
                           moderator_on_disagreement=False)
    run = run_replay(store, load_dataset(write_dataset(tmp_path / "d.csv")), policy=policy,
                     model="fake/m", seed=1)
    with store.session() as session:
        answers = project_answers(session, run.project_id)
    return run, answers


def test_entropy_sends_the_items_the_samples_disagree_on_to_people_first(
        store: Store, finished: Any) -> None:
    run, answers = finished
    curves, notes = replay_allocations(store, run, answers.llm, model="fake/m", samples=3,
                                       distilled=None, seed=1)
    by_name = {c.name: c for c in curves}
    assert set(by_name) == {"allocation_random", "allocation_entropy"}
    assert any("distilled model's probability not run" in n for n in notes)
    entropy = by_name["allocation_entropy"]
    first = next(p for p in entropy.points if p["items_to_people"] >= len(HARD))
    assert first["diff"] == 0 and first["diff_low"] == 0  # every hard item went to people
    at_zero = entropy.points[0]
    assert at_zero["human_share"] == 0 and at_zero["diff"] == pytest.approx(-len(HARD) / 30)
    # 12 items x 4 pooled people of 120 at the 40% step: the first share whose lower bound
    # is above -0.03 (at 30%, 9 items: one hard item keeps the samples' wrong majority)
    assert entropy.non_inferior_share == pytest.approx(0.4)
    assert entropy.labels_saved == pytest.approx(0.6)
    assert entropy.non_inferior_onwards == pytest.approx(0.4)
    rand = by_name["allocation_random"]
    assert rand.non_inferior_share is not None and rand.non_inferior_share > 0.4
    for curve in curves:
        last = curve.points[-1]
        assert last["human_share"] == 1.0 and last["diff"] == 0.0
        assert [p["target_share"] for p in curve.points] == [i / 10 for i in range(11)]


def test_a_share_is_a_prefix_of_the_ranking_within_its_budget(finished: Any) -> None:
    run, _ = finished
    signals = {it.external_id: ItemSignal("a", 1.0 if it.external_id in HARD else 0.0)
               for it in run.items}
    labels, used = allocate(run, signals, 10 * 4 / 120, seed=0)
    assert set(used) == HARD
    assert all(labels[i] == "b" for i in HARD)  # the pooled people's majority
    assert all(labels[i] == "a" for i in EASY)  # the model's answer
    labels, used = allocate(run, signals, 0.0, seed=0)
    assert used == {} and set(labels.values()) == {"a"}
    no_answer = {**signals, "e0": ItemSignal(None, 0.0)}  # no answer: people first
    assert "e0" in allocate(run, no_answer, 4 / 120, seed=0)[1]


def test_non_inferior_share_is_the_smallest_share_above_the_margin() -> None:
    points = [{"human_share": s, "diff_low": low} for s, low in
              [(0.0, -0.2), (0.2, -0.031), (0.3, -0.029), (0.5, -0.01), (1.0, 0.0)]]
    assert non_inferior_share(points) == 0.3
    gappy = [*points[:2], {"human_share": 0.3, "diff_low": 0.0},
             {"human_share": 0.4, "diff_low": -0.05}, *points[3:]]
    assert non_inferior_share(gappy) == 0.3 and non_inferior_onwards(gappy) == 0.5
    assert non_inferior_onwards(points) == 0.3
    assert non_inferior_share([{"human_share": 0.5, "diff_low": -0.5},
                               {"human_share": 1.0, "diff_low": math.nan}]) is None


def test_bench_replay_draws_the_three_allocations_with_a_trained_distilled_model(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANNOTATE_MODELS_DIR", str(tmp_path / "models"))
    data = write_labels(tmp_path / "toy.csv", TOY, annotators=3)
    out = tmp_path / "replay"
    assert main(["bench", "replay", str(data), "--model", "dry-run", "--train-share", "0.5",
                 "--samples", "3", "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    curves = {c["name"]: c for c in report["allocations"]}
    assert set(curves) == {"allocation_random", "allocation_entropy", "allocation_distilled"}
    assert report["dataset"]["items"] == 20  # the other 20 trained the distilled model
    # the toy's sports and cooking texts are easy for the distilled model (non-inferior
    # with few people), while dry-run's random answers are right about half the time
    distilled, entropy = curves["allocation_distilled"], curves["allocation_entropy"]
    assert distilled["labels_saved"] >= 0.5
    assert distilled["points"][0]["quality"] > entropy["points"][0]["quality"]
    assert entropy["points"][0]["quality"] < 0.8
    assert any("allocation by entropy: 3 sampled answers per item" in n
               for n in report["notes"])
    assert (out / "replay.png").stat().st_size > 0
    saved = json.loads((out / "replay.json").read_text())["allocations"]
    assert [c["name"] for c in saved] == [c["name"] for c in report["allocations"]]
