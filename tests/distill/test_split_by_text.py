"""Distillation splits by distinct text (#18): a text that occurs twice (up to case and
whitespace) is one example, so no held-out text is also in training."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from annotate.distill.train import (
    DistillOptions,
    distill_project,
    distinct_texts,
    heldout_mask,
    normalise_text,
)
from annotate.io.importing.importer import import_file
from annotate.kinds.schema import LabelSchema
from annotate.projects.catalog import create_project
from annotate.projects.policy import RoutingPolicy
from annotate.store.engine import Store
from tests.distill.conftest import COOKING, SPORTS, TOY, write_labels


def test_duplicates_up_to_case_and_whitespace_are_one_example() -> None:
    frame = pd.DataFrame({
        "item_id": ["a", "b", "c", "d", "e", "f"],
        "text": ["Hello  World", "hello world", "HELLO world ", "bye", "Bye", "other"],
        "label": ["x", "y", "y", "x", "y", "x"], "confidence": 1.0, "source": "majority"})
    out, removed = distinct_texts(frame)
    assert removed == 3 and len(out) == 3
    rows = {normalise_text(t): (i, lab) for i, t, lab in zip(out["item_id"], out["text"],
                                                              out["label"], strict=True)}
    assert rows["hello world"] == ("b", "y")  # the label 2 of its 3 copies carry
    assert rows["bye"] == ("d", "x")  # a tie: the first copy's label
    assert rows["other"] == ("f", "x")


def test_no_held_out_text_occurs_in_training(store: Store, tmp_path: Path,
                                             toy_project: Callable[..., str]) -> None:
    # the 40 toy items plus 8 copies of some of them, with other case and spacing
    copies = [(f"d{k:02d}", f"  {text.upper()}  ", label)
              for k, (_, text, label) in enumerate(TOY[::5])]
    with store.session() as session:
        create_project(session, "dup", LabelSchema(kind="classification",
                                                   labels=["sports", "cooking"]),
                       policy=RoutingPolicy(human_annotations=0, llm_annotations=1))
    import_file(store, "dup", write_labels(tmp_path / "dup.csv", TOY + copies))
    report = distill_project(store, "dup", DistillOptions(heldout=0.25, out=tmp_path / "m"))
    assert report.duplicates_removed == len(copies) == 8
    assert report.n_train + report.n_heldout == len(SPORTS) + len(COOKING)
    assert report.majority_share is not None and report.majority_label in {"sports", "cooking"}


def test_the_split_of_distinct_texts_keeps_every_copy_on_one_side() -> None:
    texts = [f"text {k}" for k in range(20)]
    frame = pd.DataFrame({"item_id": [f"i{k:02d}" for k in range(40)],
                          "text": texts + [t.upper() for t in texts],
                          "label": ["a", "b"] * 20, "confidence": 1.0, "source": "majority"})
    distinct, removed = distinct_texts(frame)
    test = heldout_mask(distinct["label"].tolist(), 0.25, seed=0)
    train = {normalise_text(t) for t in distinct["text"][~test]}
    held = {normalise_text(t) for t in distinct["text"][test]}
    assert removed == 20 and not train & held and len(train | held) == 20
