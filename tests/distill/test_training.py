"""Training data, metrics and the saved model: known answers on toy data, real embeddings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from annotate.distill.scores import bootstrap_ci, calibration
from annotate.distill.train import DistillOptions, distill_project, heldout_mask, training_frame
from annotate.errors import InvalidInput
from annotate.queue.leases import Provenance, _provenance_columns
from annotate.store.engine import Store
from annotate.store.models import Annotation, Item
from roles.distilled import CARD_FILE, read_model


def _row(item: str, annotator: str, label: str, *, kind: str = "human", role: str = "annotator",
         confidence: float | None = None) -> dict[str, object]:
    return {"item_id": item, "annotator": annotator, "annotator_kind": kind, "role": role,
            "label": label, "confidence": confidence, "rationale": None, "text": f"text {item}"}


def test_training_frame_decisions_win_votes_give_confidence_and_llm_votes_are_left_out() -> None:
    frame = pd.DataFrame([
        _row("a", "p1", "x"), _row("a", "p2", "x"),  # unanimous: 1.0
        _row("b", "p1", "x"), _row("b", "p2", "y"), _row("b", "p3", "x"),  # 2 of 3
        _row("c", "p1", "x"), _row("c", "p2", "y"),  # tie: no final label
        _row("d", "p1", "x"), _row("d", "p2", "x"),
        _row("d", "mod", "y", kind="llm", role="moderator", confidence=0.6),  # decision wins
        _row("e", "llm1", "y", kind="llm"), _row("e", "p1", "x"),  # the LLM vote is ignored
    ])
    got = training_frame(frame).set_index("item_id")
    assert got["label"].to_dict() == {"a": "x", "b": "x", "d": "y", "e": "x"}
    assert got["confidence"].round(3).to_dict() == {"a": 1.0, "b": 0.667, "d": 0.6, "e": 1.0}
    assert got.loc["d", "source"] == "moderator"
    kept = training_frame(frame, min_confidence=0.7)
    assert sorted(kept["item_id"]) == ["a", "e"]
    with_llm = training_frame(frame, include_llm_votes=True).set_index("item_id")
    assert "e" not in with_llm.index  # x vs y: a tie once the LLM votes


def test_calibration_and_bootstrap_known_answers() -> None:
    conf = np.array([0.95, 0.95, 0.55, 0.55])
    correct = np.array([True, True, True, False])
    cal = calibration(conf, correct)
    # bin 0.9-1.0: acc 1.0 vs 0.95; bin 0.5-0.6: acc 0.5 vs 0.55 -> 0.5*0.05 + 0.5*0.05
    assert cal.ece == pytest.approx(0.05)
    assert [(b["n"], b["accuracy"]) for b in cal.bins] == [(2, 0.5), (2, 1.0)]
    low, high = bootstrap_ci(correct, resamples=500, seed=1) or (0.0, 0.0)
    assert 0.0 <= low < 0.75 < high <= 1.0
    assert bootstrap_ci(np.array([], dtype=bool)) is None


def test_heldout_split_is_seeded_and_stratified() -> None:
    labels = ["a"] * 30 + ["b"] * 10
    mask = heldout_mask(labels, 0.2, seed=3)
    assert mask.sum() == 8
    assert sum(1 for m, label in zip(mask, labels, strict=True) if m and label == "b") == 2
    assert (heldout_mask(labels, 0.2, seed=3) == mask).all()
    assert not heldout_mask(labels, 0.0).any()


def test_learns_a_separable_toy_set(store: Store, toy_project: Callable[..., str],
                                    tmp_path: Path) -> None:
    toy_project(store)
    report = distill_project(store, "toy", DistillOptions(heldout=0.25, out=tmp_path / "m"))
    assert report.n_train == 30 and report.n_heldout == 10
    assert report.distilled is not None and report.distilled.accuracy is not None
    assert report.distilled.accuracy >= 0.9
    assert report.llm == []  # nothing but people's labels on the project yet
    model = read_model(tmp_path / "m")
    unseen = model.predict(["The midfielder scored twice in the derby",
                            "Fry the garlic gently in olive oil"])
    assert [p.label for p in unseen] == ["sports", "cooking"]
    assert all(0.5 < p.confidence <= 1.0 for p in unseen)


def test_saved_model_round_trips_and_its_hash_follows_the_labels(
        sqlite_store: Store, toy_project: Callable[..., str], tmp_path: Path) -> None:
    toy_project(sqlite_store)
    options = DistillOptions(out=tmp_path / "m")
    first = distill_project(sqlite_store, "toy", options)
    saved = read_model(tmp_path / "m")
    assert saved.card.training_hash == first.training_hash and saved.card.n_train == 32
    assert saved.card.metrics["heldout_accuracy"] == first.distilled.accuracy  # type: ignore[union-attr]
    texts = ["a new football season", "a new soup recipe"]
    again = distill_project(sqlite_store, "toy", options)
    assert again.training_hash == first.training_hash  # same labels, same data hash
    reread = read_model(tmp_path / "m")
    assert np.array_equal(reread.coef, saved.coef) and reread.predict(texts) == saved.predict(texts)

    with sqlite_store.session() as session:  # a person adjudicates one item the other way
        item = session.query(Item).filter_by(external_id="s00").one()
        session.add(Annotation(project_id=item.project_id, item_id=item.id, role="adjudicator",
                               value={"label": "cooking"},
                               **_provenance_columns(Provenance("olga"))))
    changed = distill_project(sqlite_store, "toy", options)
    assert changed.training_hash != first.training_hash
    assert read_model(tmp_path / "m").card.training_hash == changed.training_hash
    (tmp_path / "m" / CARD_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidInput, match="unreadable"):
        read_model(tmp_path / "m")
