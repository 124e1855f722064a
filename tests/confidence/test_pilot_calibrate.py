"""`annotate pilot --calibrate` fits a calibrator per model on the pilot's sample, stores it
with the project under the guideline version, and `policy show` says which one applies;
the next answers are calibrated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from annotate.cli.main import main
from annotate.pilot.metrics import Costs
from annotate.pilot.recommend import PilotOptions, run_pilot
from annotate.projects.calibrators import project_calibrators
from annotate.projects.catalog import current_guideline, get_project
from annotate.store.engine import Store, open_store
from annotate.store.models import Calibrator
from tests.pilot.pilot_data import MODEL, install_pilot_fake, make_pilot_project


def test_the_pilot_fits_a_calibrator_on_its_sample(sqlite_store: Store) -> None:
    # verbalized 0.9 on 20 right answers, 0.4 on 10 wrong ones: right rate 1.0 and 0.0
    make_pilot_project(sqlite_store, right=20, wrong=10)
    install_pilot_fake()
    options = PilotOptions(costs=Costs(10, 1), models=(MODEL,), sample=30, bootstrap=50,
                           calibrate=True)
    result = run_pilot(sqlite_store, "p", options)
    (fit,) = result.calibration
    assert fit["model"] == MODEL and fit["estimator"] == "verbalized" and fit["n"] == 30
    assert fit["method"] == "platt" and fit["ece_raw"] == pytest.approx(0.2)
    assert fit["ece_calibrated_out_of_fold"] < fit["ece_raw"]
    assert any(note.startswith("calibrator fitted: fake/m / verbalized") for note in
               result.notes)
    with sqlite_store.session() as session:
        project = get_project(session, "p")
        (stored,) = project_calibrators(session, project.id,
                                        current_guideline(session, project).version)
    assert stored.fitted.apply(0.9) > 0.9 and stored.fitted.apply(0.4) < 0.1


def test_without_calibrate_nothing_is_stored(sqlite_store: Store) -> None:
    make_pilot_project(sqlite_store, right=20, wrong=10)
    install_pilot_fake()
    result = run_pilot(sqlite_store, "p", PilotOptions(costs=Costs(10, 1), models=(MODEL,),
                                                       sample=30, bootstrap=50))
    assert result.calibration == []
    with sqlite_store.session() as session:
        assert session.scalars(select(Calibrator)).all() == []


def test_cli_pilot_calibrate_then_policy_show_names_the_calibrator(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = open_store(url)
    make_pilot_project(store, right=20, wrong=10)
    store.dispose()
    install_pilot_fake()
    assert main(["--db", url, "policy", "show", "p"]) == 0
    assert "calibration: none for guideline version" in capsys.readouterr().out
    assert main(["--db", url, "pilot", "p", "--models", MODEL, "--sample", "30",
                 "--bootstrap", "50", "--calibrate", "-o", str(tmp_path / "out"),
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["calibration"][0]["estimator"] == "verbalized"
    assert main(["--db", url, "policy", "show", "p"]) == 0
    shown = capsys.readouterr().out
    assert "calibration (guideline version" in shown
    assert "fake/m / verbalized: platt" in shown and "on 30 labelled answers" in shown
