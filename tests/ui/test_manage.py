"""Owner pages through streamlit.testing: review and adjudicate, dashboards, project setup
(an import error shown with its line, nothing half-imported), the playground, people; and
a person without the owner role refused on each of them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from annotate.services.workspace import open_next_task, submit_answer
from annotate.store.models import Annotation, GuidelineVersion, Item, Project, Task
from tests.ui.conftest import APP, UiDb, button, choose_project, sign_in, texts
from ui.access import REFUSED

OWNER_PAGES = ["views/review.py", "views/dashboard.py", "views/setup.py",
               "views/playground.py", "views/people.py"]


def _answer_all(ui_db: UiDb, project: str, who: str, labels: list[str]) -> None:
    pid = ui_db.seeded.projects[project]
    for label in labels:
        view = open_next_task(ui_db.store, who, pid)
        assert view is not None
        submit_answer(ui_db.store, view, who, {"label": label}, seconds=3.0)


def _go(at: AppTest, page: str) -> AppTest:
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("page", OWNER_PAGES)
def test_a_person_without_the_owner_role_is_refused(app: AppTest, ui_db: UiDb,
                                                    page: str) -> None:
    sign_in(app, ui_db, "ann", "sentiment")
    _go(app, page)
    assert [e.value for e in app.error] == [REFUSED]
    assert not app.tabs and not app.dataframe


def test_nobody_signed_in_sees_only_the_sign_in_page(app: AppTest) -> None:
    assert [t.value for t in app.title] == ["Sign in"]
    assert not [b for b in app.button if b.label == "Submit"]


def test_owner_adjudicates_a_disagreement(app: AppTest, ui_db: UiDb) -> None:
    _answer_all(ui_db, "sentiment", "ann", ["negative"] * 6)
    _answer_all(ui_db, "sentiment", "bob", ["neutral"] * 6)
    sign_in(app, ui_db, "olga", "sentiment")
    _go(app, "views/review.py")
    page = texts(app)
    assert "Answer 1" in page and "Answer 2" in page
    assert "bob" not in page and "ann" not in page  # sources anonymised by default
    item_id = app.selectbox[-1].value
    button(app, "Use answer 2").click().run()  # type: ignore[attr-defined]
    button(app, "Set final answer").click().run()  # type: ignore[attr-defined]
    assert not app.exception
    with ui_db.store.session() as session:
        decision = session.scalars(select(Annotation).where(
            Annotation.item_id == item_id, Annotation.role == "adjudicator")).one()
        task = session.get_one(Task, decision.task_id)
    assert decision.value == {"label": "negative"}  # answer 2: ann's (1 is the LLM's)
    assert decision.annotator_id == "olga" and task.status == "done"
    assert any("Final answer for" in s.value for s in app.success)


def test_dashboards_show_agreement_from_the_agreement_module(app: AppTest,
                                                             ui_db: UiDb) -> None:
    _answer_all(ui_db, "sentiment", "ann", ["positive", "negative", "neutral", "positive",
                                            "negative", "neutral"])
    _answer_all(ui_db, "sentiment", "bob", ["positive", "negative", "positive", "positive",
                                            "negative", "negative"])
    sign_in(app, ui_db, "olga", "sentiment")
    _go(app, "views/dashboard.py")
    labels = {m.label: m.value for m in app.metric}
    assert labels["Items"] == "6"
    assert float(labels["Krippendorff's alpha"]) < 1
    assert "–" in labels["95% CI"]
    downloads = {d.proto.label for d in app.get("download_button")}
    assert {"Download CSV", "Download all answers (long form)"} <= downloads
    frames = [d.value for d in app.dataframe]
    assert any("disagreement" in f.columns for f in frames)
    assert any("accept_share" in f.columns for f in frames)
    competence = next(f for f in frames if "competence" in f.columns)
    assert {"ann", "bob"} <= set(competence["annotator"])
    assert "Download competence CSV" in downloads


def test_an_import_error_is_shown_with_its_line_and_nothing_is_imported(
        app: AppTest, ui_db: UiDb) -> None:
    sign_in(app, ui_db, "olga", "sentiment")
    _go(app, "views/setup.py")
    bad = b"item_id,text,annotator,label\nx1,fine,a1,positive\nx2,hmm,a1,bogus\n"
    app.get("file_uploader")[0].upload("messages.csv", bad, "text/csv")
    app.run()
    button(app, "Import").click().run()  # type: ignore[attr-defined]
    errors = [e.value for e in app.error]
    assert len(errors) == 1 and "Nothing was imported" in errors[0]
    assert "messages.csv:3" in errors[0] and "bogus" in errors[0]
    with ui_db.store.session() as session:
        assert session.scalar(select(func.count()).select_from(Item).where(
            Item.external_id.in_(["x1", "x2"]))) == 0
    good = b"id,text\nx1,fine\nx2,not fine\n"
    app.get("file_uploader")[0].upload("more.csv", good, "text/csv")
    app.run()
    button(app, "Import").click().run()  # type: ignore[attr-defined]
    assert any("Imported 2 items" in s.value for s in app.success)


def test_owner_creates_a_project_and_sets_its_policy(app: AppTest, ui_db: UiDb) -> None:
    sign_in(app, ui_db, "olga", "sentiment")
    _go(app, "views/setup.py")
    app.text_input[0].input("toxicity")
    app.text_input[1].input("toxic, fine")
    button(app, "Create project").click().run()  # type: ignore[attr-defined]
    assert not app.exception
    with ui_db.store.session() as session:
        project = session.scalars(select(Project).where(Project.name == "toxicity")).one()
    assert project.schema_json["labels"] == ["toxic", "fine"]
    app.checkbox(key="pol:blind").check()
    button(app, "Save policy").click().run()  # type: ignore[attr-defined]
    with ui_db.store.session() as session:
        assert session.get_one(Project, project.id).policy_json["blind"] is True
    assert any("default: on for remote models" in c.value for c in app.caption)
    app.selectbox(key="pol:redact_personal_data").select(
        "off: remote models see personal data")
    button(app, "Save policy").click().run()  # type: ignore[attr-defined]
    with ui_db.store.session() as session:
        assert session.get_one(Project, project.id).policy_json["redact_personal_data"] is False
    app.run()
    assert any("off: remote models see personal data" in c.value for c in app.caption)


def test_playground_runs_saves_a_version_and_sends_double_annotation(
        app: AppTest, ui_db: UiDb) -> None:
    sign_in(app, ui_db, "olga", "sentiment")
    _go(app, "views/playground.py")
    assert len(app.multiselect[0].value) == 6  # the project's items, up to 8
    button(app, "Run the annotator role on these examples").click().run()  # type: ignore[attr-defined]
    assert not app.exception
    shown = texts(app)
    assert "LLM roles not installed yet" in shown or "Matches the expected answer" in shown \
        or app.dataframe
    draft = app.text_area[0].value + "\n## Pitfalls\n\nSarcasm is negative.\n"
    app.text_area[0].input(draft).run()
    assert "+Sarcasm is negative." in app.code[0].value
    button(app, "Save as a new guideline version").click().run()  # type: ignore[attr-defined]
    with ui_db.store.session() as session:
        numbers = session.scalars(select(GuidelineVersion.number).where(
            GuidelineVersion.project_id == ui_db.seeded.projects["sentiment"])).all()
    assert sorted(numbers) == [1, 2]
    assert any("Saved guideline v2" in s.value for s in app.success)
    app.slider[0].set_value(100).run()
    button(app, "Send to double annotation").click().run()  # type: ignore[attr-defined]
    assert any("human tasks added" in s.value for s in app.success)


def test_owner_adds_a_person_and_the_invite_link_signs_them_in(app: AppTest,
                                                              ui_db: UiDb) -> None:
    sign_in(app, ui_db, "olga")
    _go(app, "views/people.py")
    app.text_input[0].input("carol")
    button(app, "Add").click().run()  # type: ignore[attr-defined]
    link = app.code[0].value
    assert "?invite=inv_" in link
    guest = AppTest.from_file(str(APP), default_timeout=60)
    guest.query_params["invite"] = link.split("invite=", 1)[1]
    guest.run()
    assert not guest.exception
    assert any("Welcome, carol" in s.value for s in guest.success)
    token = guest.code[0].value
    assert token.startswith("ann_")
    from annotate.services.people import authenticate, grant

    with ui_db.store.session() as session:
        who = authenticate(session, token)
    assert who is not None and who.name == "carol" and not who.is_owner
    with ui_db.store.session() as session:  # a new person sees no project until granted one
        grant(session, "carol", "sentiment")
    guest.run()
    choose_project(guest, ui_db, "sentiment")
    guest.switch_page("views/people.py").run()
    assert [e.value for e in guest.error] == [REFUSED]
