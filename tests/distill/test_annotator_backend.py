"""`--model distilled:NAME` answers for the annotator role: on the queue, outside it, and
beside the LLM annotators' stored answers in the next distill report."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from annotate.distill.train import DistillOptions, distill_project
from annotate.kinds.schema import LabelSchema
from annotate.llm.client import make_client
from annotate.llm.gateway import Gateway, GatewaySettings
from annotate.llm.testing import install_fake, reply
from annotate.projects.catalog import create_project
from annotate.store.engine import Store
from annotate.store.models import Annotation, Item, Project
from roles.base import RoleFailure
from roles.distilled import Predicted, read_model
from roles.offline import annotate_items, annotate_texts
from roles.runner import run_project
from tests.distill.conftest import TOY


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "models"
    monkeypatch.setenv("ANNOTATE_MODELS_DIR", str(folder))
    return folder


def test_run_with_a_distilled_model_stores_its_answers_with_provenance(
        store: Store, toy_project: Callable[..., str], models: Path) -> None:
    toy_project(store)
    report = distill_project(store, "toy")
    assert report.model == "distilled:toy" and Path(report.path) == models / "toy"
    with store.session() as session:
        pid = session.scalars(select(Project.id)).one()
    stats = run_project(store, "toy", make_client(store, pid, "distilled:toy"),
                        model="distilled:toy", roles=("annotator",))
    assert stats.done == 40 and stats.failed == 0
    with store.session() as session:
        rows = session.execute(select(Annotation, Item.external_id).join(Item).where(
            Annotation.annotator_kind == "llm")).all()
    assert len(rows) == 40
    truth = {ext: label for ext, _, label in TOY}
    right = sum(a.value["label"] == truth[ext] for a, ext in rows)
    assert right >= 38  # 32 of them were training items
    first = rows[0][0]
    assert first.model == first.annotator_id == "distilled:toy" and first.role == "annotator"
    assert all(a.confidence is not None and 0.5 <= a.confidence <= 1.0 for a, _ in rows)
    assert first.params["training_hash"] == report.training_hash
    assert first.rationale == "distilled model toy" and first.cost_usd == 0.0
    # The next report scores those stored answers beside the new model, on the same items.
    again = distill_project(store, "toy")
    assert [s.annotator for s in again.llm] == ["distilled:toy"]
    assert again.llm[0].n == again.n_heldout == 8


def test_annotate_texts_and_items_answer_in_one_batch(
        sqlite_store: Store, toy_project: Callable[..., str], tmp_path: Path) -> None:
    toy_project(sqlite_store)
    distill_project(sqlite_store, "toy", DistillOptions(out=tmp_path / "m"))
    model = f"distilled:{tmp_path / 'm'}"
    results = annotate_texts(sqlite_store, "toy", ["The keeper caught the ball",
                                                   "Stir the sauce with a wooden spoon"],
                             model=model)
    assert [r.value if isinstance(r, Predicted) else r for r in results] == [
        {"label": "sports"}, {"label": "cooking"}]
    with sqlite_store.session() as session:
        ids = session.scalars(select(Item.id).order_by(Item.external_id).limit(3)).all()
        pid = session.scalars(select(Project.id)).one()
    outputs = annotate_items(sqlite_store, pid, ids, model=model)
    assert [o.value for o in outputs] == [{"label": "cooking"}] * 3
    assert all(o.confidence is not None and o.error is None for o in outputs)
    missing = annotate_texts(sqlite_store, "toy", ["x"], model="distilled:nope")
    assert isinstance(missing[0], RoleFailure) and missing[0].kind == "distilled_model"
    assert "no distilled model" in missing[0].message
    card = read_model(tmp_path / "m").card
    with sqlite_store.session() as session:  # a project whose labels the model does not know
        create_project(session, "other", LabelSchema(kind="classification", labels=["a", "b"]))
    wrong = annotate_texts(sqlite_store, "other", ["x"], model=model)
    assert isinstance(wrong[0], RoleFailure) and ", ".join(card.labels) in wrong[0].message


def test_report_puts_the_llm_annotators_answers_beside_the_distilled_model(
        sqlite_store: Store, toy_project: Callable[..., str], tmp_path: Path) -> None:
    toy_project(sqlite_store)
    # a fake LLM that says "sports" for everything, 90% sure
    install_fake(default=reply(json.dumps({"label": "sports", "reason": "r",
                                           "confidence": 90})))
    with sqlite_store.session() as session:
        pid = session.scalars(select(Project.id)).one()
    gateway = Gateway(sqlite_store, pid, GatewaySettings(model="fake/m"))
    assert run_project(sqlite_store, "toy", gateway, model="fake/m",
                       roles=("annotator",)).done == 40
    report = distill_project(sqlite_store, "toy", DistillOptions(out=tmp_path / "m"))
    (llm,) = report.llm
    assert llm.annotator == "fake/m" and llm.n == 8 and llm.n_with_confidence == 8
    assert llm.accuracy == pytest.approx(0.5)  # the held-out split is stratified: 4 + 4
    assert llm.ece == pytest.approx(0.4)  # 90% sure, right half the time
    assert report.distilled is not None and report.distilled.n == 8
