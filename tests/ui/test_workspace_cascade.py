"""A cascade in the UI: the workspace shows people which stages answered before them and how
sure each was; the setup form takes a cascade and refuses an unknown annotator; the
dashboard shows each stage (streamlit.testing, the seeded SQLite database)."""

from __future__ import annotations

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from annotate.queue.cascade import PASSED
from annotate.services.cascade_stages import stage_answers
from annotate.store.models import Annotation, Item, Project
from tests.ui.conftest import UiDb, button, sign_in, texts


def _add_a_stage_that_passed_on(ui_db: UiDb) -> None:
    """Every sentiment item: a distilled model answered first, unsure, and passed it on."""
    with ui_db.store.session() as session:
        project = session.scalars(select(Project).where(
            Project.id == ui_db.seeded.projects["sentiment"])).one()
        for item_id in session.scalars(select(Item.id).where(Item.project_id == project.id)):
            session.add(Annotation(project_id=project.id, item_id=item_id,
                                   annotator_id="distilled:first", annotator_kind="llm",
                                   role="annotator", value={"label": "negative"},
                                   confidence=0.41, model="distilled:first", phase=PASSED))


def test_people_see_each_stage_and_how_sure_it_was(app: AppTest, ui_db: UiDb) -> None:
    _add_a_stage_that_passed_on(ui_db)
    sign_in(app, ui_db, "ann", "sentiment")
    page = texts(app)
    assert "Cascade before you:" in page
    line = next(x for x in page.splitlines() if x.startswith("Cascade before you:"))
    assert "distilled:first: **negative** (0.41), unsure: passed on" in line
    assert "local/smollm2" in line  # the stage whose answer is the suggestion


def test_without_a_stage_passing_on_there_is_no_cascade_line(app: AppTest,
                                                             ui_db: UiDb) -> None:
    sign_in(app, ui_db, "ann", "sentiment")
    assert "Suggestion" in texts(app) and "Cascade before you" not in texts(app)
    with ui_db.store.session() as session:
        item_id = session.scalars(select(Item.id)).first()
        assert item_id is not None and stage_answers(session, item_id) == ()


def test_the_setup_form_takes_a_cascade_and_refuses_an_unknown_annotator(
        app: AppTest, ui_db: UiDb) -> None:
    sign_in(app, ui_db, "olga", "sentiment")
    app.switch_page("views/setup.py").run()
    assert not app.exception, app.exception
    pid = ui_db.seeded.projects["sentiment"]
    cascade = app.text_input(key="pol:cascade")
    cascade.input('[{"annotator": "distilled:nosuch", "threshold": 0.9}]')
    button(app, "Save policy").click().run()  # type: ignore[attr-defined]
    assert "cascade stage 1 (distilled:nosuch): no distilled model" in texts(app)
    with ui_db.store.session() as session:
        assert session.get_one(Project, pid).policy_json.get("cascade", []) == []
    app.text_input(key="pol:cascade").input('[{"annotator": "dry-run", "threshold": 0.7}]')
    app.text_input(key="pol:human_below_confidence").input("")
    button(app, "Save policy").click().run()  # type: ignore[attr-defined]
    with ui_db.store.session() as session:
        saved = session.get_one(Project, pid).policy_json["cascade"]
    assert saved == [{"annotator": "dry-run", "threshold": 0.7}], texts(app)


def test_the_dashboard_shows_the_cascade_stage_by_stage(app: AppTest, ui_db: UiDb) -> None:
    pid = ui_db.seeded.projects["sentiment"]
    with ui_db.store.session() as session:
        project = session.get_one(Project, pid)
        project.policy_json = {**project.policy_json, "human_below_confidence": None,
                               "cascade": [{"annotator": "local/smollm2", "threshold": 0.7}]}
    sign_in(app, ui_db, "olga", "sentiment")
    app.switch_page("views/dashboard.py").run()
    assert not app.exception, app.exception
    assert "Cascade: items each stage reached and decided" in texts(app)
    [frame] = [d.value for d in app.dataframe if "passed_on" in d.value.columns]
    assert list(frame["stage"]) == ["1", "people"]
    assert frame["annotator"].iloc[0] == "local/smollm2"
