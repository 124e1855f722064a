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


def report_finals(db: str, out: Path, *extra: str) -> dict[str, tuple[str, str]]:
    run(db, "report", "p", "-o", str(out), "--bootstrap", "0", *extra)
    rows = (out / "final_labels.csv").read_text(encoding="utf-8").splitlines()[1:]
    return {cells[0]: (cells[1], cells[2]) for cells in (row.split(",") for row in rows)}


def test_report_defaults_to_the_policy(project: str, tmp_path: Path) -> None:
    set_aggregation(project, tmp_path, "dawid_skene")
    by_policy = report_finals(project, tmp_path / "policy")
    assert {by_policy[item] for item in OUTVOTED} == {(truth(int(item[1:])), "dawid_skene")
                                                       for item in OUTVOTED}
    assert json.loads((tmp_path / "policy" / "numbers.json").read_text(encoding="utf-8"))[
        "aggregation"]["method"] == "dawid_skene"
    by_flag = report_finals(project, tmp_path / "flag", "--aggregation", "majority")
    assert {by_flag[item] for item in OUTVOTED} == {(flip(truth(int(item[1:]))), "majority")
                                                     for item in OUTVOTED}


def review_finals(db: str) -> dict[str, tuple[Any, str]]:
    from sqlalchemy import select

    from annotate.services.review import review_item
    from annotate.store.engine import open_store
    from annotate.store.models import Item

    store = open_store(db)
    try:
        with store.session() as session:
            items = session.execute(select(Item.id, Item.project_id, Item.external_id)).all()
            views = {ext: review_item(session, pid, pk) for pk, pid, ext in items}
    finally:
        store.dispose()
    return {ext: (view.final["label"] if view.final else None, view.final_source)
            for ext, view in views.items()}


def decide(db: str, item: str, label: str) -> None:
    from sqlalchemy import select

    from annotate.services.review import set_final_answer
    from annotate.store.engine import open_store
    from annotate.store.models import Item

    store = open_store(db)
    try:
        with store.session() as session:
            pk, pid = session.execute(select(Item.id, Item.project_id)
                                      .where(Item.external_id == item)).one()
        set_final_answer(store, pid, pk, {"label": label}, "lead")
    finally:
        store.dispose()


def test_review_shows_the_policy_final_and_a_decision_wins(project: str,
                                                            tmp_path: Path) -> None:
    assert review_finals(project)["i20"] == (flip(truth(20)), "majority")
    set_aggregation(project, tmp_path, "dawid_skene")
    finals = review_finals(project)
    assert finals["i20"] == (truth(20), "dawid_skene")
    assert finals["i05"] == (truth(5), "dawid_skene")
    decide(project, "i20", flip(truth(20)))  # an adjudicator sides with the noisy people
    assert review_finals(project)["i20"] == (flip(truth(20)), "adjudicator")
    assert exported_finals(project, tmp_path, "dawid_skene")["i20"] == (
        flip(truth(20)), "adjudicator")


class HashEmbedder:
    """A stand-in for the sentence-embedding model (the outside boundary): a fixed random
    unit vector per text."""

    name = "hash-embedder"

    def encode(self, texts: list[str]) -> Any:
        import zlib

        import numpy as np

        vectors = np.array([np.random.default_rng(zlib.crc32(t.encode())).normal(size=8)
                            for t in texts])
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_distill_trains_on_the_policy_labels(project: str, tmp_path: Path) -> None:
    import pandas as pd

    from annotate.distill.train import DistillOptions, distill_project, training_hash
    from annotate.store.engine import open_store

    def expected_hash(outvoted_wins: bool) -> str:
        rows = [(f"i{i:02d}", f"message number {i}",
                 flip(truth(i)) if outvoted_wins and f"i{i:02d}" in OUTVOTED else truth(i))
                for i in range(30)]
        return training_hash(pd.DataFrame(rows, columns=["item_id", "text", "label"]))

    store = open_store(project)
    try:
        for method, outvoted_wins in (("majority", True), ("dawid_skene", False)):
            set_aggregation(project, tmp_path, method)
            report = distill_project(store, "p", DistillOptions(heldout=0.0,
                                                                out=tmp_path / method),
                                     embedder=HashEmbedder())
            assert report.n_train == 30
            assert report.training_hash == expected_hash(outvoted_wins), method
    finally:
        store.dispose()


def test_policy_set_refuses_an_unknown_method_in_one_line(
        project: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "bad.json"
    policy.write_text(json.dumps({"aggregation": "mean"}), encoding="utf-8")
    capsys.readouterr()
    assert main(["--db", project, "policy", "set", "p", str(policy)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {policy}: aggregation: Input should be 'majority' or 'dawid_skene'"


def test_dawid_skene_with_decisions_only_gives_the_decisions() -> None:
    import pandas as pd

    from annotate.agreement.aggregate import final_labels

    frame = pd.DataFrame({"item_id": ["x"], "annotator": ["lead"], "label": ["a"],
                          "role": ["adjudicator"]})
    finals = final_labels(frame, "dawid_skene")
    assert finals[["item_id", "label", "source"]].values.tolist() == [["x", "a", "adjudicator"]]
