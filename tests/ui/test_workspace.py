"""The workspace through streamlit.testing: choose and submit, accept, skip, undo, pairs,
blind-first reveal and revise; every answer checked in the real database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from annotate.services.dashboards import suggestion_use
from annotate.store.models import Annotation, Task
from tests.ui.conftest import APP, UiDb, button, sign_in, texts


def _answers(ui_db: UiDb, who: str = "ann") -> list[Annotation]:
    with ui_db.store.session() as session:
        return list(session.scalars(select(Annotation).where(Annotation.annotator_id == who)
                                    .order_by(Annotation.id)))


def _click(at: AppTest, label: str) -> AppTest:
    button(at, label).click().run()  # type: ignore[attr-defined]
    assert not at.exception, at.exception
    return at


def _item_on_screen(at: AppTest) -> str:
    line = next(m.value for m in at.markdown if " · item `" in m.value)
    return str(line).split("`")[1]


def test_sign_in_with_a_wrong_token_is_refused(app: AppTest) -> None:
    app.text_input[0].input("ann_not-a-token")
    app.button[0].click().run()
    assert "not valid" in texts(app)
    assert not [b for b in app.button if b.label == "Submit"]


def test_choose_and_submit_stores_the_answer_with_time_and_guideline(
        app: AppTest, ui_db: UiDb) -> None:
    sign_in(app, ui_db, "ann", "sentiment")
    page = texts(app)
    assert "Suggestion" in page and "local/smollm2" in page  # the pre-label says its model
    first = _item_on_screen(app)
    _click(app, "neutral")
    _click(app, "Submit")
    [saved] = _answers(ui_db)
    assert saved.value == {"label": "neutral"}
    assert saved.annotator_kind == "human" and saved.phase == "final" and saved.source == "ui"
    assert saved.human_seconds is not None and saved.human_seconds >= 0
    assert saved.suggestion_visible is True
    assert saved.guideline_version is not None
    assert saved.meta["accepted_suggestion"] is False
    assert _item_on_screen(app) != first  # the next task is on screen


def test_accepting_the_prelabel_is_recorded_as_accepted(app: AppTest, ui_db: UiDb) -> None:
    sign_in(app, ui_db, "ann", "sentiment")
    _click(app, "Accept the suggestion")
    _click(app, "Submit")
    [saved] = _answers(ui_db)
    assert saved.value == {"label": "positive"}  # the LLM's guess for m1
    assert saved.meta["accepted_suggestion"] is True


def test_skip_gives_the_task_back_and_shows_another(app: AppTest, ui_db: UiDb) -> None:
    sign_in(app, ui_db, "ann", "sentiment")
    first = _item_on_screen(app)
    _click(app, "Skip")
    assert _item_on_screen(app) != first
    assert not _answers(ui_db)
    with ui_db.store.session() as session:
        leased = session.scalars(select(Task).where(Task.lease_owner == "ann")).all()
    assert len(leased) == 1  # only the task on screen; the skipped one is back in the queue


def test_undo_brings_the_last_answer_back(app: AppTest, ui_db: UiDb) -> None:
    sign_in(app, ui_db, "ann", "sentiment")
    first = _item_on_screen(app)
    _click(app, "negative")
    _click(app, "Submit")
    assert len(_answers(ui_db)) == 1
    _click(app, "Undo last")
    assert _item_on_screen(app) == first
    assert not _answers(ui_db)
    assert button(app, "negative").proto.type == "primary"  # type: ignore[attr-defined]
    _click(app, "neutral")
    _click(app, "Submit")
    [saved] = _answers(ui_db)
    assert saved.value == {"label": "neutral"}


def test_pairs_are_answered_a_b_or_tie(app: AppTest, ui_db: UiDb) -> None:
    sign_in(app, ui_db, "ann", "pairs")
    page = texts(app)
    assert "A time-limited claim on a task." in page and "A rental contract" in page
    _click(app, "B is better")
    _click(app, "Submit")
    [saved] = _answers(ui_db)
    assert saved.value == {"choice": "response2"}
    assert "No tasks left" in texts(app)


def _blind(at: AppTest, ui_db: UiDb) -> tuple[Annotation, Annotation, Any]:
    sign_in(at, ui_db, "ann", "sentiment-blind")
    page = texts(at)
    assert "Blind-first" in page and "Suggestion" not in page
    _click(at, "neutral")
    _click(at, "Commit my answer")
    assert "Suggestion" in texts(at)  # revealed after the commit
    [blind] = _answers(ui_db)
    assert blind.phase == "blind" and blind.suggestion_visible is False
    _click(at, "Switch to the suggestion")
    _click(at, "Submit")
    first, final = _answers(ui_db)
    return first, final, at


def test_blind_first_reveal_and_revise_stores_both_answers(app: AppTest, ui_db: UiDb) -> None:
    blind, final, _ = _blind(app, ui_db)
    assert blind.value == {"label": "neutral"}
    assert final.value == {"label": "positive"} and final.phase == "final"
    assert final.suggestion_visible is True
    assert final.meta["revised_after_reveal"] is True
    assert final.meta["switched_to_suggestion"] is True
    with ui_db.store.session() as session:
        usage = suggestion_use(session, ui_db.seeded.projects["sentiment-blind"])
    row = usage.set_index("person").loc["ann"]
    assert row["blind_first"] == 1 and row["switched_share"] == 1.0


def test_blind_mode_never_shows_another_persons_label(app: AppTest, ui_db: UiDb) -> None:
    bob = AppTest.from_file(str(APP), default_timeout=60).run()
    sign_in(bob, ui_db, "bob", "sentiment-blind")
    _click(bob, "negative")
    _click(bob, "Commit my answer")
    _click(bob, "Submit")
    sign_in(app, ui_db, "ann", "sentiment-blind")
    page = texts(app)
    assert "bob" not in page
    assert "negative" not in [b.label for b in app.button if b.proto.type == "primary"]


def test_a_person_pages_back_changes_an_answer_and_both_are_kept(app: AppTest,
                                                                 ui_db: UiDb) -> None:
    from annotate.services.history import revisions_of

    sign_in(app, ui_db, "ann", "sentiment")
    first = _item_on_screen(app)
    _click(app, "neutral")
    _click(app, "Submit")
    _click(app, "negative")
    _click(app, "Submit")
    assert "2 answers" in texts(app)
    [change] = [b for b in app.button if b.key == f"change:{_answers(ui_db)[0].id}"]
    change.click().run()
    assert "Changing your answer" in texts(app) and f"`{first}`" in texts(app)
    with ui_db.store.session() as session:  # the task that was on screen went back
        assert session.scalars(select(Task).where(Task.lease_owner == "ann",
                                                  Task.status == "leased")).all() == []
    _click(app, "positive")
    _click(app, "Save change")
    old, new = _answers(ui_db)
    assert old.value == {"label": "positive"} and new.value == {"label": "negative"}
    with ui_db.store.session() as session:
        assert [r.value for r in revisions_of(session, old.id)] == [{"label": "neutral"}]
    assert "Changing your answer" not in texts(app)
    assert "changed 1×" in texts(app)
    assert _item_on_screen(app) != first  # back to the queue's next task
