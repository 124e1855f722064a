"""The distilled model's probability is recorded like any estimator: ``distilled`` with its
raw probability, calibrated once a calibrator for it is stored."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from annotate.agreement.calibration import FittedCalibrator
from annotate.distill.train import distill_project
from annotate.llm.client import make_client
from annotate.projects.calibrators import save_calibrator
from annotate.projects.catalog import current_guideline, get_project
from annotate.store.engine import Store
from annotate.store.models import Annotation
from roles.distilled import Predicted
from roles.offline import annotate_texts
from roles.runner import run_project
from tests.distill.conftest import toy_project

__all__ = ["toy_project"]


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "models"
    monkeypatch.setenv("ANNOTATE_MODELS_DIR", str(folder))
    return folder


def test_a_clear_text_is_surer_than_a_mixed_one(
        sqlite_store: Store, toy_project: Callable[..., str], models: Path) -> None:
    toy_project(sqlite_store)
    distill_project(sqlite_store, "toy")
    clear, mixed = annotate_texts(sqlite_store, "toy", [
        "The striker scored a goal and the team won the football match",
        "The football team baked bread and simmered the sauce"], model="distilled:toy")
    assert isinstance(clear, Predicted) and isinstance(mixed, Predicted)
    assert clear.value == {"label": "sports"}
    assert clear.estimator == mixed.estimator == "distilled"
    assert clear.confidence_raw == clear.confidence  # no calibrator yet
    assert clear.confidence > mixed.confidence


def test_stored_answers_carry_the_estimator_and_a_calibrated_confidence(
        sqlite_store: Store, toy_project: Callable[..., str], models: Path) -> None:
    toy_project(sqlite_store)
    distill_project(sqlite_store, "toy")
    with sqlite_store.session() as session:
        project = get_project(session, "toy")
        pid = project.id
        save_calibrator(session, pid, "distilled:toy", "distilled",
                        current_guideline(session, project).version,
                        FittedCalibrator("isotonic", {"x": [0.0, 1.0], "y": [0.0, 0.5]}, 40,
                                         None, None))
    run_project(sqlite_store, "toy", make_client(sqlite_store, pid, "distilled:toy"),
                model="distilled:toy", roles=("annotator",))
    with sqlite_store.session() as session:
        rows = session.scalars(select(Annotation).where(
            Annotation.annotator_kind == "llm")).all()
    assert rows and {a.confidence_estimator for a in rows} == {"distilled"}
    assert all(a.confidence_raw is not None and 0.5 <= a.confidence_raw <= 1.0 for a in rows)
    assert all(a.confidence == pytest.approx(a.confidence_raw / 2) for a in rows)
