"""Calibrators: known-answer fits, stored with the project per model, estimator and guideline
version, applied to later answers (``confidence`` calibrated, ``confidence_raw`` kept), and
the migration's columns on both databases."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from annotate.agreement.calibration import (
    FittedCalibrator,
    expected_calibration_error,
    fit_calibrator,
)
from annotate.llm.gateway import Gateway
from annotate.llm.testing import install_fake, reply
from annotate.projects.calibrators import find_calibrator, project_calibrators, save_calibrator
from annotate.projects.catalog import current_guideline, get_project, save_guideline
from annotate.store.engine import Store
from annotate.store.models import Annotation, Item
from roles.runner import run_project
from tests.factories import make_project


def overconfident(n: int = 400, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Raw confidence uniform in [0.5, 1]; the answer is right with probability raw - 0.3."""
    rng = np.random.default_rng(seed)
    raw = rng.uniform(0.5, 1.0, n)
    return raw, rng.random(n) < raw - 0.3


@pytest.mark.parametrize("method", ["isotonic", "platt"])
def test_a_calibrator_removes_a_known_overconfidence(method: Any) -> None:
    raw, right = overconfident()
    fitted = fit_calibrator(raw, right, method)
    assert fitted.ece_raw is not None and fitted.ece_raw > 0.25
    assert fitted.ece_calibrated is not None and fitted.ece_calibrated < 0.08  # out of fold
    assert fitted.apply(0.9) == pytest.approx(0.6, abs=0.1)
    assert fitted.apply(0.55) < fitted.apply(0.95)  # the ranking is kept
    fresh_raw, fresh_right = overconfident(seed=2)  # and it holds on answers it never saw
    fresh = expected_calibration_error([fitted.apply(x) for x in fresh_raw], fresh_right)
    assert fresh is not None and fresh < 0.08


def test_small_samples_get_platt_and_all_right_gets_the_constant_rate() -> None:
    raw, right = overconfident(40)
    assert fit_calibrator(raw, right).method == "platt"
    assert fit_calibrator(*overconfident(150)).method == "isotonic"
    constant = fit_calibrator([0.2, 0.9] * 6, [True] * 12)
    assert constant.apply(0.2) == constant.apply(0.9) == 1.0
    with pytest.raises(ValueError, match="at least 10"):
        fit_calibrator([0.5] * 3, [True] * 3)


def test_calibrators_are_keyed_by_model_estimator_and_guideline_version(store: Store) -> None:
    make_project(store, 1)
    iso = FittedCalibrator("isotonic", {"x": [0.0, 1.0], "y": [0.2, 0.6]}, 50, 0.3, 0.04)
    with store.session() as session:
        pid = get_project(session, "p").id
        save_calibrator(session, pid, "m", "logprob", "v1", iso)
        newer = save_calibrator(session, pid, "m", "logprob", "v1",
                                FittedCalibrator("platt", {"a": 1.0, "b": 0.0}, 60, 0.3, 0.05))
        save_calibrator(session, pid, "m", "verbalized", "v1", iso)
    with store.session() as session:
        found = find_calibrator(session, pid, "m", "logprob", "v1")
        assert found is not None and found.id == newer.id and found.fitted.method == "platt"
        assert find_calibrator(session, pid, "m", "logprob", "v2") is None  # a refit is due
        assert find_calibrator(session, pid, "other", "logprob", "v1") is None
        assert [(c.model, c.estimator) for c in project_calibrators(session, pid, "v1")] == [
            ("m", "logprob"), ("m", "verbalized")]


def test_later_answers_are_calibrated_and_keep_their_raw_signal(
        sqlite_store: Store, make_items: Callable[..., int],
        gateway_for: Callable[[int], Gateway]) -> None:
    pid = make_items(["one", "two"])
    with sqlite_store.session() as session:
        project = get_project(session, "p")
        version = current_guideline(session, project).version
        save_calibrator(session, pid, "fake/m", "verbalized", version, FittedCalibrator(
            "isotonic", {"x": [0.0, 1.0], "y": [0.1, 0.5]}, 50, 0.4, 0.03))
    install_fake(default=reply(json.dumps({"label": "pos", "reason": "r", "confidence": 90})))
    run_project(sqlite_store, "p", gateway_for(pid), model="fake/m")
    with sqlite_store.session() as session:
        rows = session.scalars(select(Annotation)).all()
    assert [(a.confidence_raw, a.confidence_estimator) for a in rows] == [
        (0.9, "verbalized")] * 2
    assert all(a.confidence == pytest.approx(0.46) for a in rows)  # 0.1 + 0.9 * 0.4


def test_a_new_guideline_version_answers_uncalibrated_until_refitted(
        sqlite_store: Store, make_items: Callable[..., int],
        gateway_for: Callable[[int], Gateway]) -> None:
    pid = make_items(["one"])
    with sqlite_store.session() as session:
        project = get_project(session, "p")
        save_calibrator(session, pid, "fake/m", "verbalized",
                        current_guideline(session, project).version, FittedCalibrator(
                            "isotonic", {"x": [0.0, 1.0], "y": [0.1, 0.5]}, 50, 0.4, 0.03))
        save_guideline(session, project, "# A new guideline\n\nLabel pos or neg.\n")
    install_fake(default=reply(json.dumps({"label": "pos", "reason": "r", "confidence": 90})))
    run_project(sqlite_store, "p", gateway_for(pid), model="fake/m")
    with sqlite_store.session() as session:
        row = session.scalars(select(Annotation)).one()
    assert row.confidence == row.confidence_raw == 0.9


def test_the_new_columns_round_trip_on_both_databases(store: Store) -> None:
    make_project(store, 1)
    with store.session() as session:
        project = get_project(session, "p")
        item_id = session.scalars(select(Item.id)).first()
        session.add(Annotation(project_id=project.id, item_id=item_id, annotator_id="m",
                               annotator_kind="llm", value={"label": "a"}, confidence=0.7,
                               confidence_estimator="logprob", confidence_raw=0.93))
    with store.session() as session:
        row = session.scalars(select(Annotation)).one()
    assert (row.confidence, row.confidence_estimator, row.confidence_raw) == (
        0.7, "logprob", 0.93)
