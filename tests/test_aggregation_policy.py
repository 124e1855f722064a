"""The policy's ``aggregation`` (#18 item 5) makes every final label: export, review,
distillation and the report's default. One reliable person and two noisy ones: on four
items the two noisy people agree against the reliable one, so the majority vote takes their
label and Dawid-Skene (which has learnt who is reliable from the other items) takes hers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from annotate.cli.main import main

LABELS = ("a", "b")
OUTVOTED = [f"i{i:02d}" for i in range(20, 24)]  # both noisy people against the reliable one


def truth(i: int) -> str:
    return LABELS[i % 2]


def flip(label: str) -> str:
    return LABELS[1 - LABELS.index(label)]


def answers_of(i: int) -> dict[str, str]:
    """rita is always right; noisy1 is wrong on items 10-23, noisy2 on 0-9 and 20-23."""
    right = truth(i)
    return {"rita": right,
            "noisy1": right if i < 10 or i >= 24 else flip(right),
            "noisy2": right if 10 <= i < 20 or i >= 24 else flip(right)}


def items_file(tmp_path: Path) -> Path:
    lines = []
    for i in range(30):
        annotations = [{"annotator_id": who, "annotator_kind": "human", "value": {"label": lab}}
                       for who, lab in answers_of(i).items()]
        lines.append({"id": f"i{i:02d}", "text": f"message number {i}",
                      "annotations": annotations})
    path = tmp_path / "items.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def run(db: str, *args: str) -> None:
    assert main(["--db", db, *args]) == 0, args


def set_aggregation(db: str, tmp_path: Path, method: str) -> None:
    policy = tmp_path / f"policy-{method}.json"
    policy.write_text(json.dumps({"human_annotations": 0, "llm_annotations": 0,
                                  "aggregation": method}), encoding="utf-8")
    run(db, "policy", "set", "p", str(policy))


@pytest.fixture
def project(db_url: str, tmp_path: Path) -> str:
    """A classification project ``p`` with the three people's answers on 30 items."""
    run(db_url, "project", "create", "p", "--kind", "classification", "--labels", "a,b")
    run(db_url, "import", "p", str(items_file(tmp_path)))
    return db_url


def exported_finals(db: str, tmp_path: Path, method: str) -> dict[str, tuple[Any, str]]:
    """``{item: (final label, source)}`` of a Prodigy export under the given aggregation."""
    set_aggregation(db, tmp_path, method)
    out = tmp_path / f"{method}.jsonl"
    run(db, "export", "p", "--format", "prodigy", "-o", str(out))
    finals = {}
    for line in out.read_text(encoding="utf-8").splitlines():
        task = json.loads(line)
        finals[task["id"]] = (task["_final"]["accept"][0], task["_final_source"])
    return finals


def test_export_final_labels_follow_the_policy(project: str, tmp_path: Path) -> None:
    majority = exported_finals(project, tmp_path, "majority")
    dawid_skene = exported_finals(project, tmp_path, "dawid_skene")
    assert len(majority) == len(dawid_skene) == 30
    for i in range(30):
        item = f"i{i:02d}"
        expected = flip(truth(i)) if item in OUTVOTED else truth(i)
        assert majority[item] == (expected, "majority")
        assert dawid_skene[item] == (truth(i), "dawid_skene")
