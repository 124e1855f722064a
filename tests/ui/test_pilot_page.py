"""The Pilot page through streamlit.testing: it shows the latest pilot of the chosen project
(run here on the seeded database with a fake LLM), applies its policy, says how to run one
when there is none, and refuses people who are not owners."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete
from streamlit.testing.v1 import AppTest

from annotate.llm.testing import Reply, install_fake, reply
from annotate.pilot.metrics import Costs
from annotate.pilot.recommend import PilotOptions, run_pilot
from annotate.pilot.report import write_pilot_files
from annotate.projects.catalog import get_project, project_policy
from annotate.services.workspace import open_next_task, submit_answer
from annotate.store.models import Report
from tests.ui.conftest import UiDb, button, choose_project, sign_in, texts
from ui.access import REFUSED

PAGE = "views/pilot.py"


def _positive(model: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> Reply:
    return reply(json.dumps({"label": "positive", "reason": "r", "confidence": 90}))


@pytest.fixture
def piloted(ui_db: UiDb, tmp_path: Path) -> dict[str, Any]:
    """People label the six items of "sentiment" positive, then a pilot runs on them with a
    fake LLM that always answers positive (confidence 90): it is the constant most common
    label, so the pilot says it cannot do the task and recommends people only (#18)."""
    pid = ui_db.seeded.projects["sentiment"]
    for _ in range(6):
        view = open_next_task(ui_db.store, "ann", pid)
        assert view is not None
        submit_answer(ui_db.store, view, "ann", {"label": "positive"}, seconds=3.0)
    install_fake("fake", responder=_positive)
    result = run_pilot(ui_db.store, "sentiment", PilotOptions(
        costs=Costs(error_cost=100, human_cost=1), models=("fake/m",), sample=6,
        bootstrap=50))
    write_pilot_files(ui_db.store, result, tmp_path / "out")
    return result.as_json()


def _open(at: AppTest) -> AppTest:
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def test_the_page_shows_the_pilot_and_applies_its_policy(app: AppTest, ui_db: UiDb,
                                                         piloted: dict[str, Any]) -> None:
    sign_in(app, ui_db, "olga", "sentiment")
    _open(app)
    page = texts(app)
    assert "6 human-labelled items" in page and "People only: cost" in page
    metrics = {m.label: m.value for m in app.metric}
    assert piloted["recommendation"]["model"] is None
    assert metrics["Recommended"] == "people only" and "cannot do this task" in page
    assert metrics["Expected cost / item"] == \
        f"{piloted['recommendation']['choice']['expected_cost']:.3f}"
    assert [t.label for t in app.tabs] == ["fake/m"]
    button(app, "Apply this policy").click().run()  # type: ignore[attr-defined]
    assert not app.exception, app.exception
    with ui_db.store.session() as session:
        policy = project_policy(get_project(session, "sentiment"))
    assert policy.model_dump(mode="json") == piloted["recommendation"]["policy"]
    assert policy.human_below_confidence == piloted["recommendation"]["choice"]["threshold"]


def test_without_a_pilot_the_page_says_how_to_run_one(app: AppTest, ui_db: UiDb,
                                                      tmp_path: Path) -> None:
    sign_in(app, ui_db, "olga", "pairs")
    _open(app)
    assert "No pilot of pairs yet. Run `annotate pilot pairs" in texts(app)
    assert not app.metric


def test_a_pilot_folder_can_be_opened(app: AppTest, ui_db: UiDb,
                                      piloted: dict[str, Any], tmp_path: Path) -> None:
    with ui_db.store.session() as session:  # as if the pilot ran on another database
        session.execute(delete(Report))
    sign_in(app, ui_db, "olga", "sentiment")
    _open(app)
    assert "No pilot of sentiment yet" in texts(app)
    app.text_input(key=f"pilot_folder:{ui_db.seeded.projects['sentiment']}").input(
        str(tmp_path / "out")).run()
    assert not app.exception, app.exception
    assert {m.label: m.value for m in app.metric}["Recommended"] == "people only"


def test_a_person_without_the_owner_role_is_refused(app: AppTest, ui_db: UiDb) -> None:
    sign_in(app, ui_db, "ann", "sentiment")
    _open(app)
    assert [e.value for e in app.error] == [REFUSED]
    choose_project(app, ui_db, "pairs")
    assert not app.metric
