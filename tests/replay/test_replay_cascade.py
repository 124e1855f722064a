"""`annotate bench replay` with a cascade whose distilled stage is trained on a seeded split
of items the replay does not score; the cascade is scored like every other system."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotate.cli.main import main
from annotate.distill.train import normalise_text
from annotate.replay.cascade import TRAINED, split_by_text
from annotate.replay.dataset import load_dataset
from tests.distill.conftest import TOY, write_labels, write_pairwise


def _policy(tmp_path: Path, first: str = TRAINED) -> Path:
    path = tmp_path / "cascade.json"
    path.write_text(json.dumps({"human_annotations": 1, "double_annotation_share": 0,
                                "cascade": [{"annotator": first, "threshold": 0.6},
                                            {"annotator": "dry-run", "threshold": 0.99}]}))
    return path


def test_the_split_keeps_every_copy_of_a_text_on_one_side(tmp_path: Path) -> None:
    rows = [*TOY, ("dup", TOY[0][1].upper() + "  ", TOY[0][2])]  # the same text, twice
    data = load_dataset(write_labels(tmp_path / "d.csv", rows, annotators=3))
    train, rest = split_by_text(data.items, 0.5, 0, normalise_text)
    assert len(train) + len(rest) == len(rows)
    seen = {normalise_text(it.text) for it in train}
    assert not seen & {normalise_text(it.text) for it in rest}
    assert split_by_text(data.items, 0.5, 0, normalise_text)[0] == train  # seeded


def test_replay_scores_a_cascade_with_a_distilled_stage_trained_apart(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANNOTATE_MODELS_DIR", str(tmp_path / "models"))
    data = write_labels(tmp_path / "toy.csv", TOY, annotators=3)
    out = tmp_path / "replay"
    assert main(["bench", "replay", str(data), "--policy", str(_policy(tmp_path)),
                 "--model", "dry-run", "--train-share", "0.5", "--out", str(out),
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dataset"]["items"] == 20  # the other 20 trained the distilled stage
    assert any("trained on 20 items" in n and "does not score" in n for n in report["notes"])
    stages = [s["annotator"] for s in report["policy"]["cascade"]]
    assert stages[0].startswith("distilled:") and stages[0] != TRAINED
    assert stages[1] == "dry-run"
    systems = {s["name"]: s for s in report["systems"]}
    cascade = systems["policy"]
    assert "a cascade distilled:" in cascade["description"]
    assert 0.0 <= cascade["human_share"] < 1.0  # the distilled stage decided some items
    diff, low, high = cascade["minus_majority_all"]
    assert low <= diff <= high
    assert {"majority_all", "constant_majority", "llm_alone"} <= set(systems)


def test_a_choice_dataset_replays_a_cascade_with_a_distilled_stage(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A pairwise dataset (which response is better): the distilled stage compares the
    responses; the cascade and the allocation by its probability are scored like the rest."""
    monkeypatch.setenv("ANNOTATE_MODELS_DIR", str(tmp_path / "models"))
    data = write_pairwise(tmp_path / "pairs.jsonl")
    policy = tmp_path / "cascade.json"
    policy.write_text(json.dumps({"human_annotations": 1, "double_annotation_share": 0,
                                  "moderator_on_disagreement": False,
                                  "cascade": [{"annotator": TRAINED, "threshold": 0.6}]}))
    out = tmp_path / "replay"
    assert main(["bench", "replay", str(data), "--policy", str(policy), "--model", "dry-run",
                 "--train-share", "0.5", "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dataset"]["kind"] == "choice" and report["dataset"]["items"] == 24
    assert any("trained on 24 items" in n for n in report["notes"])
    systems = {s["name"]: s for s in report["systems"]}
    cascade = systems["policy"]
    assert "a cascade distilled:" in cascade["description"]
    assert cascade["unlabelled"] == 0
    assert cascade["human_share"] < 1.0  # the distilled stage decided some items itself
    curves = {c["name"]: c for c in report["allocations"]}
    assert "allocation_distilled" in curves
    at_zero = curves["allocation_distilled"]["points"][0]
    assert at_zero["human_share"] == 0.0
    assert at_zero["quality"] > systems["constant_majority"]["quality"]  # it learnt something


@pytest.mark.parametrize(("first", "share", "message"), [
    (TRAINED, "0", "give --train-share"),
])
def test_train_share_and_the_trained_stage_go_together(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], first: str, share: str,
        message: str) -> None:
    data = write_labels(tmp_path / "toy.csv", TOY, annotators=3)
    policy = _policy(tmp_path, first)
    if first == "dry-run":  # a cascade without the placeholder (two distinct stages)
        policy.write_text(json.dumps({"cascade": [{"annotator": "dry-run", "threshold": 0.5}]}))
    assert main(["bench", "replay", str(data), "--policy", str(policy), "--model", "dry-run",
                 "--train-share", share, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
