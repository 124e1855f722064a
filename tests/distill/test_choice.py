"""A distilled model for a choice (pairwise) project: it embeds the instruction and both
responses and learns which response is better; real embeddings, a real store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from annotate.distill.train import DistillOptions, distill_project
from annotate.io.importing.importer import import_file
from annotate.kinds.choice import OptionComparison
from annotate.kinds.optional import ITEM_TEXT, distill_inputs
from annotate.kinds.schema import LabelSchema
from annotate.projects.catalog import create_project
from annotate.projects.policy import RoutingPolicy
from annotate.store.engine import Store
from roles.distilled import read_model
from tests.distill.conftest import write_pairwise

SCHEMA = LabelSchema(kind="choice", options=["response1", "response2"], allow_tie=True)


def test_the_features_compare_the_options_and_flip_with_them() -> None:
    rng = np.random.default_rng(0)
    ctx, a, b = (rng.normal(size=(3, 4)) for _ in range(3))
    features = OptionComparison().features(np.stack([ctx, a, b], axis=1))
    swapped = OptionComparison().features(np.stack([ctx, b, a], axis=1))
    assert features.shape == (3, 16)
    assert np.allclose(features[:, :4], a - b) and np.allclose(features[:, 4:8], ctx * (a - b))
    assert np.allclose(swapped[:, :8], -features[:, :8])  # which is better: the sign flips
    assert np.allclose(swapped[:, 8:], features[:, 8:])  # how alike, the context: the same
    assert distill_inputs("choice").labels(SCHEMA) == ["response1", "response2", "tie"]
    # a classification embeds its text alone, as before kinds chose their features
    assert distill_inputs("classification") is ITEM_TEXT
    assert np.array_equal(ITEM_TEXT.features(np.stack([ctx], axis=1)), ctx)


def test_a_choice_item_needs_the_text_of_every_option() -> None:
    texts = distill_inputs("choice").texts(
        SCHEMA, "Say hi", {"options": {"response1": "hi", "response2": "bye"}})
    assert texts == ["Say hi", "hi", "bye"]
    assert distill_inputs("choice").texts(SCHEMA, "Say hi",
                                          {"response1": "hi", "response2": "bye"}) == texts
    with pytest.raises(ValueError, match="no text for option response2"):
        distill_inputs("choice").texts(SCHEMA, "Say hi", {"options": {"response1": "hi"}})


def _pairs_project(store: Store, tmp_path: Path, name: str = "pairs") -> str:
    with store.session() as session:
        create_project(session, name, SCHEMA,
                       policy=RoutingPolicy(human_annotations=0, llm_annotations=0))
    import_file(store, name, write_pairwise(tmp_path / f"{name}.jsonl"))
    return name


def test_learns_which_response_answers_the_instruction(store: Store, tmp_path: Path) -> None:
    _pairs_project(store, tmp_path)
    report = distill_project(store, "pairs", DistillOptions(heldout=0.3, out=tmp_path / "m"))
    assert report.n_heldout == 14 and report.n_train == 34
    assert report.distilled is not None and report.distilled.accuracy is not None
    assert report.majority_share is not None
    assert report.distilled.accuracy > report.majority_share  # beats always one side
    model = read_model(tmp_path / "m")
    assert model.card.kind == "choice" and model.card.labels == ["response1", "response2"]
    assert model.coef.shape == (2, 4 * 384)
    right, wrong = "Lisbon is the capital of Portugal.", "Sorry, no idea about that."
    unseen = model.predict_items(SCHEMA, [
        ("What is the capital of Portugal?", {"options": {"response1": right,
                                                          "response2": wrong}}),
        ("What is the capital of Portugal?", {"options": {"response1": wrong,
                                                          "response2": right}})])
    assert [p.label for p in unseen] == ["response1", "response2"]


def test_items_sharing_an_instruction_are_held_out_together() -> None:
    from annotate.distill.train import heldout_mask

    groups = [f"instruction {i // 3}" for i in range(30)]  # 3 response pairs per instruction
    labels = ["response1", "response2"] * 15
    test = heldout_mask(labels, 0.2, seed=0, groups=groups)
    assert 0 < test.sum() < 30
    held = {g for g, t in zip(groups, test, strict=True) if t}
    assert not held & {g for g, t in zip(groups, test, strict=True) if not t}
    assert (heldout_mask(labels, 0.2, seed=0, groups=groups) == test).all()  # seeded
    distinct = [f"text {i}" for i in range(30)]  # no repeat: the stratified split as before
    assert (heldout_mask(labels, 0.2, seed=0, groups=distinct) == heldout_mask(labels, 0.2)).all()
